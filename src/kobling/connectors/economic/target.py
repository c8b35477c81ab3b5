"""Creating customers, products and invoices in e-conomic from a document plan.

Every create is preceded by a lookup, so a step that runs again after a crash or a lost
response finds what the first run created instead of creating it twice (fact sheet §12:
``references.other`` is filterable on drafts and booked invoices).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import pycountry

from kobling.accounting.plan import DocumentPlan, PlannedCustomer, PlannedLine, PlannedPayment
from kobling.accounting.vat import VatZone
from kobling.connectors.base import CustomerResult, TargetDocument, TargetDocumentSummary
from kobling.connectors.economic.client import EconomicClient
from kobling.connectors.economic.escaping import escape_self_link_id
from kobling.connectors.economic.settings import EconomicCredentials, EconomicTargetSettings
from kobling.connectors.http import BeforeSend, OnRateLimited
from kobling.errors import PermanentError, StaleReference

UPDATABLE = ("name", "email", "address", "zip", "city", "country", "telephoneAndFaxNumber")

MATCH_PROPERTIES = {
    "phone": "telephoneAndFaxNumber",
    "email": "email",
    "corporate_identification_number": "corporateIdentificationNumber",
    "vat_number": "vatNumber",
    "ean": "ean",
    "customer_number": "customerNumber",
}


def country_name(code: str) -> str:
    """e-conomic's ``country`` is free text (max 50), not an ISO code (§4)."""
    country = pycountry.countries.get(alpha_2=code)
    return str(country.name)[:50] if country else code


class Fitter:
    """Cuts values to e-conomic's maximum lengths, and remembers every cut.

    Nothing is cut silently: the full texts go into the invoice's notes and the transfer's log.
    """

    def __init__(self, kept_in: str = "the invoice's notes") -> None:
        self.cuts: list[tuple[str, str, int]] = []
        self.kept_in = kept_in

    def __call__(self, label: str, value: str, limit: int) -> str:
        if len(value) <= limit:
            return value
        self.cuts.append((label, value, limit))
        return value[:limit]

    def report(self) -> tuple[str, ...]:
        return tuple(
            f"{label} was longer than e-conomic's {limit} characters; the full text is in "
            f"{self.kept_in}: {full!r}"
            for label, full, limit in self.cuts
        )

    def notes(self) -> str:
        return "; ".join(f"{label} in full: {full}" for label, full, _ in self.cuts)


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values: e-conomic rejects null, and false booleans are omitted (§1)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _compact(value)
        if value is None or value == "" or value is False or value == {}:
            continue
        out[key] = value
    return out


def _summary(
    invoice: Mapping[str, Any], number: str, state: Literal["draft", "booked"]
) -> TargetDocumentSummary:
    gross = Decimal(str(invoice.get("grossAmount", 0)))
    return TargetDocumentSummary(
        reference=str((invoice.get("references") or {}).get("other") or ""),
        number=number,
        kind="credit_note" if gross < 0 else "invoice",
        state=state,
        gross=gross,
        currency=str(invoice.get("currency") or ""),
        date=date.fromisoformat(str(invoice["date"])[:10]),
    )


class EconomicTarget:
    """The invoice target of one e-conomic agreement."""

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, Any],
        settings: Mapping[str, Any],
    ) -> None:
        creds = EconomicCredentials.model_validate(dict(credentials))
        self.settings = EconomicTargetSettings.model_validate(dict(settings))
        self.client = EconomicClient(
            base_url,
            creds.app_secret_token.get_secret_value(),
            creds.agreement_grant_token.get_secret_value(),
        )

    # -- pacing (kobling.connectors.http.CallLimitable) -----------------------------------

    @property
    def calls_per_minute(self) -> int | None:
        return self.settings.calls_per_minute

    def limit_calls(self, before_send: BeforeSend, on_rate_limited: OnRateLimited) -> None:
        """Pace every call of this target through a limiter the engine shares across workers."""
        self.client.http.before_send = before_send
        self.client.http.on_rate_limited = on_rate_limited

    # -- documents ------------------------------------------------------------------------

    def find_document(self, reference: str) -> TargetDocument | None:
        for invoice in self.client.find("invoices/booked", "references.other", reference):
            return TargetDocument(
                str(invoice["bookedInvoiceNumber"]), "booked", invoice.get("grossAmount"), invoice
            )
        for draft in self.client.find("invoices/drafts", "references.other", reference):
            return TargetDocument(
                str(draft["draftInvoiceNumber"]), "draft", draft.get("grossAmount"), draft
            )
        return None

    def documents_between(self, start: date, end: date) -> list[TargetDocumentSummary]:
        """Booked invoices and drafts dated ``start`` to ``end`` (fact sheet §3: ``date`` is
        filterable on both). e-conomic has no credit-note resource: a credit note is an invoice
        with negative amounts (§9), so the sign of its total tells the kind."""
        period = f"date$gte:{start.isoformat()}$and:date$lte:{end.isoformat()}"
        found: list[TargetDocumentSummary] = []
        kinds: tuple[tuple[str, str, Literal["draft", "booked"]], ...] = (
            ("invoices/booked", "bookedInvoiceNumber", "booked"),
            ("invoices/drafts", "draftInvoiceNumber", "draft"),
        )
        for path, number_key, state in kinds:
            for invoice in self.client.collection(path, period):
                found.append(_summary(invoice, str(invoice[number_key]), state))
        return found

    def create_document(
        self, plan: DocumentPlan, customer_number: str, *, first_attempt: bool = False
    ) -> TargetDocument:
        existing = None if first_attempt else self.find_document(plan.reference)
        if existing is not None:
            return existing
        fit = Fitter()
        try:
            draft = self.client.post("invoices/drafts", self.draft_body(plan, customer_number, fit))
        except PermanentError as exc:
            # E06000 on "customer": the bound customer was deleted or merged in e-conomic.
            if "E06000" in exc.reason and "customer:" in exc.reason:
                raise StaleReference(
                    f"customer {customer_number} no longer exists in e-conomic",
                    "Kobling looks the customer up again by itself",
                    code="stale_customer",
                    kind="customer",
                ) from exc
            # E06000 on a line's product: a product Kobling had bound was deleted.
            if "E06000" in exc.reason and "product" in exc.reason:
                raise StaleReference(
                    "a product of the order no longer exists in e-conomic",
                    "Kobling looks the products up again by itself",
                    code="stale_product",
                    kind="product",
                ) from exc
            raise
        if fit.cuts:
            draft = {**draft, "kobling_truncated": list(fit.report())}
        return TargetDocument(
            str(draft["draftInvoiceNumber"]), "draft", draft.get("grossAmount"), draft
        )

    def invoice_document(self, document_id: str) -> tuple[str, bytes]:
        """The invoice's PDF as e-conomic renders it; ``draft:N`` names draft number N."""
        number = document_id.removeprefix("draft:")
        kind = "drafts" if document_id.startswith("draft:") else "booked"
        response = self.client.http.request("GET", f"invoices/{kind}/{number}/pdf")
        return f"invoice-{number}.pdf", response.content

    def book(self, document: TargetDocument, *, first_attempt: bool = False) -> TargetDocument:
        if document.state == "booked":
            return document
        reference = str(document.data.get("references", {}).get("other", ""))
        if reference and not first_attempt:
            current = self.find_document(reference)
            if current is not None and current.state == "booked":
                return current
        try:
            booked = self.client.post(
                "invoices/booked", {"draftInvoice": {"draftInvoiceNumber": int(document.id)}}
            )
        except PermanentError as exc:
            if "date" in exc.reason:
                raise PermanentError(
                    exc.reason,
                    f"the invoice date {document.data.get('date')} lies in a closed or missing "
                    "accounting year: open the year in e-conomic (Settings → Accounting years), "
                    "then retry the transfer",
                    code="closed_period",
                ) from exc
            raise
        return TargetDocument(
            str(booked["bookedInvoiceNumber"]), "booked", booked.get("grossAmount"), booked
        )

    def update_document(
        self, document_id: str, plan: DocumentPlan, customer_number: str
    ) -> TargetDocument:
        number = int(document_id.removeprefix("draft:"))
        fit = Fitter()
        draft = self.client.put(
            f"invoices/drafts/{number}", self.draft_body(plan, customer_number, fit)
        )
        return TargetDocument(str(number), "draft", draft.get("grossAmount"), draft)

    def delete_document(self, document_id: str) -> None:
        number = int(document_id.removeprefix("draft:"))
        try:
            self.client.http.request("DELETE", f"invoices/drafts/{number}")
        except PermanentError as exc:
            if exc.code != "404":  # already gone: a retried step after a lost response
                raise

    def credit_document(
        self, document_id: str, reference: str, note: str, on: date
    ) -> TargetDocument:
        """A credit note with every line of booked invoice ``document_id`` negated.

        Negating the booked lines (same products, prices, discounts) credits exactly what was
        invoiced, to the cent, whatever the order looks like now.
        """
        existing = self.find_document(reference)
        if existing is not None:
            return self.book(existing) if existing.state == "draft" else existing
        invoice = self.client.get(f"invoices/booked/{int(document_id)}")
        lines = []
        for i, line in enumerate(invoice.get("lines", []), start=1):
            credited = {
                "lineNumber": i,
                "sortKey": i,
                "product": {"productNumber": line["product"]["productNumber"]},
                "description": line.get("description") or line["product"]["productNumber"],
                "quantity": -line["quantity"],
                "unitNetPrice": line["unitNetPrice"],
            }
            if line.get("discountPercentage"):
                credited["discountPercentage"] = line["discountPercentage"]
            lines.append(credited)
        recipient = {k: v for k, v in invoice["recipient"].items() if k != "self"}
        recipient["vatZone"] = {"vatZoneNumber": invoice["recipient"]["vatZone"]["vatZoneNumber"]}
        body = _compact(
            {
                # Dated the day of the correction: the invoice's period may be closed by now.
                "date": on.isoformat(),
                "currency": invoice["currency"],
                "customer": {"customerNumber": invoice["customer"]["customerNumber"]},
                "paymentTerms": {
                    "paymentTermsNumber": invoice["paymentTerms"]["paymentTermsNumber"]
                },
                "layout": {"layoutNumber": invoice["layout"]["layoutNumber"]},
                "recipient": recipient,
                "references": {"other": reference[:250]},
                "notes": {
                    "heading": f"Credit note for invoice {document_id}"[:250],
                    "textLine1": note[:1000],
                },
                "lines": lines,
            }
        )
        draft = self.client.post("invoices/drafts", body)
        document = TargetDocument(
            str(draft["draftInvoiceNumber"]), "draft", draft.get("grossAmount"), draft
        )
        return self.book(document)

    def draft_body(
        self, plan: DocumentPlan, customer_number: str, fit: Fitter | None = None
    ) -> dict[str, Any]:
        fit = fit or Fitter()
        customer = plan.customer
        body = _compact(
            {
                "date": plan.document_date.isoformat(),
                "currency": plan.currency,
                "customer": {"customerNumber": int(customer_number)},
                "paymentTerms": {"paymentTermsNumber": self._terms(plan.payment_method)},
                "layout": {"layoutNumber": self.settings.layout},
                "recipient": {
                    "name": fit("recipient name", customer.name, 250),
                    "address": fit("recipient address", customer.street, 250),
                    "zip": fit("recipient postcode", customer.postcode, 50),
                    "city": fit("recipient city", customer.city, 250),
                    "ean": customer.ean[:13],
                    "country": country_name(customer.country),
                    "vatZone": {"vatZoneNumber": self._zone(customer.vat_zone)},
                },
                "references": {"other": plan.reference},
                "notes": self._notes(plan),
                "lines": [self._line(i, line, fit) for i, line in enumerate(plan.lines, start=1)],
            }
        )
        if fit.cuts:
            body.setdefault("notes", {})["textLine2"] = fit.notes()[:1000]
        return body

    @staticmethod
    def _notes(plan: DocumentPlan) -> dict[str, str]:
        if plan.kind == "credit_note":
            # e-conomic has no credit-note resource (fact sheet §9): a credit note is an
            # invoice with negative quantities, linked to the invoice it credits by its notes.
            return {
                "heading": f"Credit note for invoice {plan.credits}"[:250],
                "textLine1": f"Refund {plan.reference} of invoice {plan.credits}"[:1000],
            }
        return {"heading": f"Order {plan.reference}"[:250]}

    @staticmethod
    def _line(number: int, line: PlannedLine, fit: Fitter) -> dict[str, Any]:
        return {
            "lineNumber": number,
            "sortKey": number,
            "product": {"productNumber": line.product_number},
            "description": fit(f"line {number} text", line.description, 2500)
            or line.product_number,
            "quantity": line.quantity,
            "unitNetPrice": line.unit_net_price,
        }

    def _terms(self, method: str) -> int:
        return self.settings.payment_terms_by_method.get(method, self.settings.payment_terms)

    def _zone(self, zone: VatZone) -> int:
        return {
            VatZone.DOMESTIC: self.settings.vat_zone_domestic,
            VatZone.EU: self.settings.vat_zone_eu,
            VatZone.ABROAD: self.settings.vat_zone_abroad,
        }[zone]

    # -- payments -------------------------------------------------------------------------

    def register_payment(
        self, document: TargetDocument, payment: PlannedPayment, *, first_attempt: bool = False
    ) -> dict[str, Any]:
        """A customer-payment voucher in the configured journal (fact sheet §10).

        Vouchers stay unbooked until the bookkeeper books the journal; the invoice's remainder
        changes only then. Before creating, the journal is searched for a payment entry that
        already names this invoice, so a retried step never enters a payment twice.
        """
        journal = self.settings.payment_journal
        if journal is None:
            raise PermanentError(
                f"payment by {payment.method} should be registered, but no payment journal is "
                "configured",
                "set target.payment_journal to the journal (daybook) for customer payments, or "
                "remove the method from settled_payment_methods",
                code="payment_journal",
            )
        invoice = int(document.id)
        # The journal cannot be filtered by invoice, so this reads all of it: only after an
        # attempt whose outcome is unknown.
        for voucher in (
            () if first_attempt else self.client.collection(f"journals/{journal}/vouchers")
        ):
            for existing in voucher.get("entries", {}).get("customerPayments", []):
                if existing.get("customerInvoice") == invoice:
                    return {"action": "found", "voucher": voucher.get("voucherNumber")}
        entry: dict[str, Any] = {
            "customer": {"customerNumber": int(document.data["customer"]["customerNumber"])},
            # A payment reduces the customer's balance: a credit, entered as a negative amount.
            "amount": -payment.amount,
            "currency": {"code": payment.currency},
            "date": payment.paid_on.isoformat(),
            "text": payment.text[:250],
            "customerInvoice": invoice,
        }
        account = self.settings.payment_contra_accounts.get(payment.method)
        if account is not None:
            entry["contraAccount"] = {"accountNumber": account}
        body = {
            "accountingYear": {"year": str(payment.paid_on.year)},
            "journal": {"journalNumber": journal},
            "entries": {"customerPayments": [entry]},
        }
        created = self.client.post(f"journals/{journal}/vouchers", body)
        first = created[0] if isinstance(created, list) and created else created
        result = {"action": "created", "voucher": (first or {}).get("voucherNumber")}
        if len(payment.text) > 250:
            result["truncated"] = f"voucher text cut to 250 characters; in full: {payment.text}"
        return result

    # -- customers ------------------------------------------------------------------------

    def ensure_customer(self, customer: PlannedCustomer) -> CustomerResult:
        collective = self.settings.collective_customer
        if collective is not None and customer.kind == "b2c":
            self._check_collective(collective)
            return CustomerResult(str(collective), "collective")
        prop = MATCH_PROPERTIES[customer.match_field]
        for found in self.client.find("customers", prop, customer.match_value):
            if found.get("barred"):
                raise PermanentError(
                    f"customer {found['customerNumber']} ({found.get('name')}) is barred in "
                    "e-conomic",
                    "lift the bar on the customer in e-conomic, then retry the transfer",
                    code="customer_barred",
                )
            return self._maybe_update(found, customer)
        fit = Fitter()
        created = self.client.post("customers", self.customer_body(customer, fit))
        return CustomerResult(str(created["customerNumber"]), "created", fit.report())

    def _check_collective(self, number: int) -> None:
        try:
            self.client.get(f"customers/{number}")
        except PermanentError as exc:
            if exc.code == "404":
                raise PermanentError(
                    f"the collective customer {number} for consumer orders does not exist in "
                    "e-conomic",
                    f"create customer {number} in e-conomic, or change "
                    "target.collective_customer in the connection settings",
                    code="collective_customer",
                ) from exc
            raise

    def _maybe_update(self, found: dict[str, Any], customer: PlannedCustomer) -> CustomerResult:
        number = str(found["customerNumber"])
        fit = Fitter()
        wanted = self.customer_body(customer, fit)
        # Only what the shop knows is compared: an empty field in the shop never erases
        # what the bookkeeper entered in e-conomic.
        changed = [k for k in UPDATABLE if k in wanted and wanted[k] != found.get(k)]
        if not changed or not self.settings.update_customers:
            return CustomerResult(number, "matched")
        # PUT overwrites the whole document (fact sheet §1): start from what e-conomic has.
        current = self.client.get(f"customers/{number}")
        for key in changed:
            current[key] = wanted[key]
        current.pop("self", None)
        self.client.put(f"customers/{number}", _compact(current))
        return CustomerResult(number, "updated", (*fit.report(), f"updated {', '.join(changed)}"))

    def customer_body(self, customer: PlannedCustomer, fit: Fitter) -> dict[str, Any]:
        group = {
            "b2c": self.settings.customer_group_b2c,
            "b2b": self.settings.customer_group_b2b,
            "ean": self.settings.customer_group_ean,
        }[customer.kind]
        body: dict[str, Any] = {
            "name": fit("customer name", customer.name, 255),
            "currency": customer.currency,
            "customerGroup": {"customerGroupNumber": group},
            "paymentTerms": {"paymentTermsNumber": self.settings.payment_terms},
            "vatZone": {"vatZoneNumber": self._zone(customer.vat_zone)},
            "email": fit("customer e-mail", customer.email, 255),
            "address": fit("customer address", customer.street, 510),
            "zip": fit("customer postcode", customer.postcode, 30),
            "city": fit("customer city", customer.city, 50),
            "country": country_name(customer.country),
            "telephoneAndFaxNumber": fit("customer phone", customer.phone, 255),
            "corporateIdentificationNumber": fit("VAT number", customer.vat_number, 40),
            "ean": fit("EAN", customer.ean, 40),
        }
        if customer.match_field == "customer_number" and customer.match_value.isdigit():
            body["customerNumber"] = int(customer.match_value)
        return _compact(body)

    # -- products -------------------------------------------------------------------------

    def ensure_products(
        self, plan: DocumentPlan, known: Collection[str] = ()
    ) -> list[dict[str, Any]]:
        report: list[dict[str, Any]] = []
        for number in plan.product_numbers():
            if number in known:
                continue
            line = next(line for line in plan.lines if line.product_number == number)
            report.append(self._ensure_product(line))
        return report

    def _ensure_product(self, line: PlannedLine) -> dict[str, Any]:
        number = line.product_number
        path = f"products/{escape_self_link_id(number)}"
        try:
            product = self.client.get(path)
        except PermanentError as exc:
            if exc.code != "404":
                raise
            return self._create_product(line)
        group = self._group_for(line)
        current = int(product.get("productGroup", {}).get("productGroupNumber", 0))
        if group is not None and current != group:
            raise PermanentError(
                f"the product {number!r} is in product group {current} in e-conomic, but this "
                f"order books it at {line.vat_rate.normalize():f}% VAT ({line.vat_code}), which "
                f"the connection maps to product group {group}",
                f"move product {number} to product group {group} in e-conomic, or change "
                "target.vat_product_groups in the connection settings",
                code="product_group",
            )
        if product.get("barred"):
            raise PermanentError(
                f"the product {number!r} is barred in e-conomic, so it cannot be invoiced",
                f"lift the bar on product {number} in e-conomic (or sell another product), "
                "then retry the transfer",
                code="product_barred",
            )
        return {"productNumber": number, "action": "found"}

    def _create_product(self, line: PlannedLine) -> dict[str, Any]:
        number = line.product_number
        if len(number) > 25:
            raise PermanentError(
                f"the SKU {number!r} is longer than the 25 characters e-conomic allows for a "
                "product number",
                "shorten the SKU in the shop, or create the product in e-conomic and map it",
                code="sku_too_long",
            )
        if not self.settings.auto_create_products:
            raise PermanentError(
                f"the product {number!r} does not exist in e-conomic",
                f"create product {number} in e-conomic, or allow Kobling to create products "
                "in the connection settings",
                code="product_missing",
            )
        group = self._group_for(line) or self.settings.product_group
        fit = Fitter(kept_in="the invoice line's text")
        body = {
            "productNumber": number,
            # The full text stays on the invoice line (2,500 characters); the cut is logged.
            "name": fit("product name", line.description or number, 255),
            "productGroup": {"productGroupNumber": group},
            "salesPrice": max(line.unit_net_price, Decimal("0")),
        }
        # A lost response after the product was created comes back as a retry of this step,
        # which then finds the product by number instead of creating it again. A refusal
        # because another transfer created the same product a moment ago is no error either.
        try:
            self.client.post("products", body)
        except PermanentError:
            if self._exists(number):
                return {"productNumber": number, "action": "found"}
            raise
        return {"productNumber": number, "action": "created", "notes": list(fit.report())}

    def _exists(self, number: str) -> bool:
        try:
            self.client.get(f"products/{escape_self_link_id(number)}")
        except PermanentError as exc:
            if exc.code == "404":
                return False
            raise
        return True

    def _group_for(self, line: PlannedLine) -> int | None:
        """The product group whose VAT gives the line's rate (None: any group will do).

        In e-conomic a line's VAT follows its product's group on the domestic zone; on the EU
        and abroad zones it is 0% whatever the group (fact sheet §5, §6).
        """
        if line.kind == "rounding":
            return self.settings.rounding_product_group
        if line.vat_code in ("reverse_charge", "export"):
            return None
        groups = self.settings.vat_product_groups
        for key in (line.vat_code, f"{line.vat_rate.normalize():f}"):
            if key in groups:
                return groups[key]
        raise PermanentError(
            f"e-conomic has no product group mapped for {line.vat_rate.normalize():f}% VAT "
            f"({line.vat_code}), which line {line.description!r} needs",
            "create a product group with that VAT in e-conomic and map it in the connection "
            f"settings: target.vat_product_groups[{line.vat_code!r}] = <group number>",
            code="vat_group_missing",
        )

    def close(self) -> None:
        self.client.close()

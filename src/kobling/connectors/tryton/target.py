"""Creating parties, products and customer invoices in Tryton from a document plan.

Facts this rests on (docs/tryton.md, fact sheet apis/tryton.md):

* REST ``create`` runs no on_change, so everything the invoice form would fill in is sent:
  company, currency, journal, receivable account, invoice address, and per line the revenue
  account, unit and taxes. Country tax rules therefore do not act either: the taxes are the ones
  Kobling's VAT plan decided (``settings.taxes`` maps each VAT code to a Tryton tax).
* A line whose tax differs from its product's default makes Tryton warn on posting ("does not
  have the default taxes"). Kobling skips exactly that warning for exactly that invoice
  (``res.user.warning.skip``) because the difference is its own decision (OSS, reverse charge,
  export); the skip is recorded on the document and so in the transfer's log.
* Products are searched by code with ``active_test`` off: a deactivated product is reported,
  never created a second time.
* Every create is preceded by a lookup (invoices by ``reference``), so a step that runs again
  after a lost response finds its own earlier work.
* Tryton's ``credit`` is not callable over REST (only through its wizard), so a credit note is
  built the way ``Invoice._credit`` builds it: the invoice's lines with the quantities negated
  and each line's ``origin`` pointing at the line it credits (Tryton shows these as the credit
  note's origins).
* Paying an invoice means reconciling, which only the pay wizard can do remotely: JSON-RPC with
  a user's login (``rpc.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from stdnum.eu import vat as eu_vat

from kobling.accounting.plan import DocumentPlan, PlannedCustomer, PlannedLine, PlannedPayment
from kobling.connectors.base import CustomerResult, TargetDocument, TargetDocumentSummary
from kobling.connectors.tryton.client import TrytonClient
from kobling.connectors.tryton.rpc import TrytonRpc, TrytonWarning
from kobling.connectors.tryton.settings import TrytonCredentials, TrytonTargetSettings
from kobling.errors import PermanentError, StaleReference

INVOICE_FIELDS = (
    "number",
    "state",
    "reference",
    "invoice_date",
    "party",
    "untaxed_amount",
    "tax_amount",
    "total_amount",
    "currency.code",
)
SUMMARY_FIELDS = (*INVOICE_FIELDS, "sequence_type_cache")
SUMMARY_PAGE = 500
LINE_FIELDS = ("product", "description", "quantity", "unit_price", "unit", "account", "taxes")
BOOKED_STATES = {"posted", "paid"}
# Warnings Kobling answers for the user because they follow from its own decisions:
# the explicit taxes, and a due date in the past for a back-dated order.
SKIPPABLE_WARNINGS = {"tax_warning": "invoice_taxes", "payment_term_past": "invoice_payment_term"}
NO_TAX_CODES = {"outside_scope", "rounding", ""}


def warning_key(name: str, invoice_id: int) -> str:
    """Tryton's ``res.user.warning.format(name, [invoice])`` for a saved invoice."""
    digest = hashlib.md5(f"account.invoice,{invoice_id}".encode(), usedforsecurity=False)
    return f"{digest.hexdigest()}.{name}"


def _document(record: Mapping[str, Any]) -> TargetDocument:
    """A Tryton invoice as the engine sees it: a posted one is known by its number."""
    data = {
        "id": int(record["id"]),
        "number": record.get("number"),
        "state": record.get("state"),
        "reference": record.get("reference"),
        "invoice_date": record.get("invoice_date"),
        "party": record.get("party"),
        "currency": (record.get("currency") or {}).get("code"),
        "untaxed_amount": record.get("untaxed_amount"),
        "tax_amount": record.get("tax_amount"),
        "total_amount": record.get("total_amount"),
    }
    if record.get("state") in BOOKED_STATES and record.get("number"):
        return TargetDocument(str(record["number"]), "booked", record.get("total_amount"), data)
    return TargetDocument(str(record["id"]), "draft", record.get("total_amount"), data)


def _summary(record: Mapping[str, Any]) -> TargetDocumentSummary:
    """A Tryton invoice for reconciliation: known by its number once posted, else its id."""
    document = _document(record)
    gross = Decimal(record.get("total_amount") or 0)
    kind = record.get("sequence_type_cache") or ("credit_note" if gross < 0 else "invoice")
    return TargetDocumentSummary(
        reference=str(record.get("reference") or ""),
        number=document.id,
        kind="credit_note" if kind == "credit_note" else "invoice",
        state=document.state,
        gross=gross,
        currency=str((record.get("currency") or {}).get("code") or ""),
        date=record["invoice_date"],
    )


class TrytonTarget:
    """The invoice target of one company in one Tryton database."""

    def __init__(
        self, base_url: str, credentials: Mapping[str, Any], settings: Mapping[str, Any]
    ) -> None:
        creds = TrytonCredentials.model_validate(dict(credentials))
        self.settings = TrytonTargetSettings.model_validate(dict(settings))
        company = self.settings.company
        self.client = TrytonClient(
            base_url, creds.application_key.get_secret_value(), company=company
        )
        self.rpc: TrytonRpc | None = None
        if creds.login and creds.password is not None:
            self.rpc = TrytonRpc(
                base_url,
                creds.login,
                creds.password.get_secret_value(),
                context={"company": company, "companies": [company]},
            )
        self._ids: dict[tuple[str, str], int] = {}

    # -- documents ------------------------------------------------------------------------

    def find_document(self, reference: str) -> TargetDocument | None:
        found = self.client.search(
            "account.invoice",
            [
                ("company", "=", self.settings.company),
                ("type", "=", "out"),
                ("reference", "=", reference),
                ("state", "!=", "cancelled"),
            ],
            fields=INVOICE_FIELDS,
            order=[("id", "ASC")],
        )
        return _document(found[0]) if found else None

    def documents_between(self, start: date, end: date) -> list[TargetDocumentSummary]:
        """Customer invoices and credit notes dated ``start`` to ``end``, not cancelled.

        Both are ``type = out``; a posted one carries Tryton's own sequence type, a draft is a
        credit note when its total is negative (Tryton's rule when it numbers it).
        """
        domain = [
            ("company", "=", self.settings.company),
            ("type", "=", "out"),
            ("state", "!=", "cancelled"),
            ("invoice_date", ">=", start),
            ("invoice_date", "<=", end),
        ]
        found: list[TargetDocumentSummary] = []
        while True:
            page = self.client.search(
                "account.invoice",
                domain,
                fields=SUMMARY_FIELDS,
                order=[("id", "ASC")],
                limit=SUMMARY_PAGE,
                offset=len(found),
            )
            found += [_summary(record) for record in page]
            if len(page) < SUMMARY_PAGE:
                return found

    def _read(self, invoice_id: int) -> TargetDocument:
        return _document(self.client.read("account.invoice", invoice_id, fields=INVOICE_FIELDS))

    def create_document(
        self, plan: DocumentPlan, customer_number: str, *, first_attempt: bool = False
    ) -> TargetDocument:
        existing = None if first_attempt else self.find_document(plan.reference)
        if existing is not None:
            return existing
        party = self._party(customer_number)
        values = {
            "type": "out",
            "company": self.settings.company,
            "party": party,
            "invoice_address": self._invoice_address(party, plan.customer),
            "currency": self._currency(plan.currency),
            "journal": self.settings.journal,
            "account": self.settings.receivable_account,
            "invoice_date": plan.document_date,
            "reference": plan.reference,
            "description": self._description(plan),
            "lines": [["create", self._lines(plan)]],
        }
        if self.settings.payment_term is not None:
            values["payment_term"] = self.settings.payment_term
        if tax_identifier := self._tax_identifier(party):
            values["party_tax_identifier"] = tax_identifier
        created = self.client.create("account.invoice", values, fields=INVOICE_FIELDS)
        return self._validated(self._even_out(int(created["id"]), plan))

    def _validated(self, document: TargetDocument) -> TargetDocument:
        """With ``invoice_mode = validate``, a draft goes to Tryton's "validated" state."""
        if self.settings.invoice_mode != "validate" or document.state == "booked":
            return document
        invoice_id = int(document.data["id"])
        self.client.call("account.invoice", "validate_invoice", invoice_id, fields=["state"])
        validated = self._read(invoice_id)
        return TargetDocument(
            validated.id,
            validated.state,
            validated.gross,
            document.data | {"state": validated.data["state"]},
        )

    def _party(self, customer_number: str) -> int:
        found = self.client.search(
            "party.party", [("id", "=", int(customer_number))], fields=["active"], active_test=False
        )
        if not found:
            raise StaleReference(
                f"party {customer_number} no longer exists in Tryton",
                "Kobling looks the customer up again by itself",
                code="stale_customer",
                kind="customer",
            )
        return int(customer_number)

    @staticmethod
    def _description(plan: DocumentPlan) -> str:
        if plan.kind == "credit_note":
            return f"Credit note for invoice {plan.credits} (refund {plan.reference})"
        return f"Order {plan.reference}"

    def _even_out(self, invoice_id: int, plan: DocumentPlan) -> TargetDocument:
        """Make Tryton's VAT and total the plan's, to the cent, or refuse beyond the tolerance.

        Tryton rounds VAT half-even (``currency.round``) and may sum a tax's lines before
        rounding; the plan rounds each line half up, as the shop charged it. A draft's computed
        tax amount may be edited (Tryton recomputes it only when its base changes), so each
        tax's amount is set to what the shop charged. Anything else that differs (the net) gets
        a rounding line without tax.
        """
        document = self._read(invoice_id)
        if Decimal(document.data["total_amount"]) == plan.gross:
            return document
        tolerance = Decimal(self.settings.rounding_tolerance)
        corrected = self._correct_taxes(invoice_id, plan, tolerance)
        document = self._read(invoice_id)
        total = Decimal(document.data["total_amount"])
        difference = plan.gross - total
        if difference == 0:
            return self._noted(document, "vat_corrected", corrected)
        if abs(difference) > tolerance:
            self.client.delete("account.invoice", invoice_id)
            raise PermanentError(
                f"Tryton computed {total} {plan.currency} for {plan.reference} where the shop's "
                f"total is {plan.gross} (a difference of {difference}, more than the tolerance "
                f"of {tolerance}); the draft was removed again",
                "check the taxes mapped in the connection settings (target.taxes) against the "
                "taxes' rates in Tryton, then retry the transfer",
                code="totals_mismatch",
            )
        line = self._line_values(
            PlannedLine(
                "rounding",
                self.settings.rounding_product,
                f"Rounding difference ({difference})",
                Decimal(1),
                difference,
                Decimal(0),
                vat_code="rounding",
            ),
            self._currency(plan.currency),
            product=False,
        )
        self.client.write("account.invoice", invoice_id, {"lines": [["create", [line]]]})
        evened = self._noted(self._read(invoice_id), "vat_corrected", corrected)
        return self._noted(evened, "rounding_line", [f"{difference}"])

    def _correct_taxes(self, invoice_id: int, plan: DocumentPlan, tolerance: Decimal) -> list[str]:
        """Set each computed tax amount that differs from the plan's VAT (within tolerance)."""
        wanted: dict[int, Decimal] = {}
        for line in plan.lines:
            for tax in self._taxes_for(line):
                wanted[tax] = wanted.get(tax, Decimal(0)) + line.vat
        corrected = []
        for tax_line in self.client.search(
            "account.invoice.tax",
            [("invoice", "=", invoice_id), ("manual", "=", False)],
            fields=["tax", "tax.parent", "amount", "description"],
        ):
            found: dict[str, Any] = tax_line.get("tax") or {}
            key = _id(found["parent"]) if found.get("parent") else _id(found)
            if key not in wanted:
                continue
            amount = Decimal(tax_line["amount"])
            difference = wanted.pop(key) - amount
            if difference and abs(difference) <= tolerance:
                self.client.write(
                    "account.invoice.tax", int(tax_line["id"]), {"amount": amount + difference}
                )
                corrected.append(
                    f"{tax_line.get('description') or key}: {amount} → {amount + difference} "
                    "(VAT per line rounded half up, as the shop charged it)"
                )
        return corrected

    @staticmethod
    def _noted(document: TargetDocument, key: str, notes: list[str]) -> TargetDocument:
        if not notes:
            return document
        return TargetDocument(
            document.id, document.state, document.gross, {**document.data, key: notes}
        )

    def book(self, document: TargetDocument, *, first_attempt: bool = False) -> TargetDocument:
        # Tryton's post wizard needs the invoice read anyway, so the state check stays.
        if document.state == "booked":
            return document
        invoice_id = int(document.data.get("id") or document.id)
        current = self._read(invoice_id)  # an earlier attempt may have posted it already
        if current.state == "booked":
            return current
        skipped: list[str] = []
        redated: list[str] = []
        for _ in range(len(SKIPPABLE_WARNINGS) + 2):
            try:
                self.client.call("account.invoice", "post", invoice_id, fields=["state"])
            except PermanentError as exc:
                if exc.code == "invoice_date_order" and not redated:
                    redated.append(self._redate_after_last_posted(invoice_id, exc))
                    continue
                name = SKIPPABLE_WARNINGS.get(exc.code)
                if name is None or name in skipped:
                    raise
                self.client.call(
                    "res.user.warning", "skip", arguments={"name": warning_key(name, invoice_id)}
                )
                skipped.append(name)
                continue
            break
        booked = self._noted(self._read(invoice_id), "redated", redated)
        skips = [
            f"Tryton's warning {name} skipped deliberately: the taxes are Kobling's VAT decisions "
            "(or the due date follows the order's date)"
            for name in skipped
        ]
        return self._noted(booked, "warnings_skipped", skips)

    def _redate_after_last_posted(self, invoice_id: int, refused: PermanentError) -> str:
        """Date a late invoice like the last posted one, as Tryton's numbering requires."""
        if self.settings.late_invoice_date == "hold":
            raise refused
        invoice = self.client.read("account.invoice", invoice_id, fields=["invoice_date"])
        ordered = invoice["invoice_date"]
        found = self.client.search(
            "account.invoice",
            [
                ("company", "=", self.settings.company),
                ("type", "=", "out"),
                ("state", "in", ["posted", "paid"]),
                ("invoice_date", ">", ordered),
            ],
            fields=["invoice_date", "number"],
            order=[("invoice_date", "DESC")],
            limit=1,
        )
        if not found:
            raise refused
        last = found[0]
        self.client.write("account.invoice", invoice_id, {"invoice_date": last["invoice_date"]})
        return (
            f"dated {last['invoice_date']} instead of the order's {ordered}: Tryton numbers "
            f"invoices in date order and {last['number']} is dated {last['invoice_date']} "
            "(setting target.late_invoice_date = 'hold' holds such orders instead)"
        )

    def update_document(
        self, document_id: str, plan: DocumentPlan, customer_number: str
    ) -> TargetDocument:
        invoice_id = int(document_id.removeprefix("draft:"))
        current = self.client.read("account.invoice", invoice_id, fields=["state", "lines"])
        if current.get("state") == "validated":  # back to draft to change it
            self.client.call("account.invoice", "draft", invoice_id, fields=["state"])
            current["state"] = "draft"
        if current.get("state") != "draft":
            raise PermanentError(
                f"invoice {invoice_id} is no longer a draft in Tryton ({current.get('state')})",
                "Kobling treats it as booked; see the transfer's log",
                code="not_draft",
            )
        party = self._party(customer_number)
        self.client.write(
            "account.invoice",
            invoice_id,
            {
                "party": party,
                "invoice_address": self._invoice_address(party, plan.customer),
                "currency": self._currency(plan.currency),
                "invoice_date": plan.document_date,
                "lines": [
                    ["delete", list(current.get("lines") or [])],
                    ["create", self._lines(plan)],
                ],
            },
        )
        return self._validated(self._even_out(invoice_id, plan))

    def delete_document(self, document_id: str) -> None:
        invoice_id = int(document_id.removeprefix("draft:"))
        try:
            self.client.delete("account.invoice", invoice_id)
        except PermanentError as exc:
            if exc.code != "not_found":  # already gone: a retried step after a lost response
                raise

    def credit_document(
        self, document_id: str, reference: str, note: str, on: date
    ) -> TargetDocument:
        """A credit note of every line of posted invoice ``document_id`` (its number), once."""
        existing = self.find_document(reference)
        if existing is not None:
            return self.book(existing)
        original = self._by_number(document_id)
        lines = self.client.search(
            "account.invoice.line",
            [("invoice", "=", original["id"]), ("type", "=", "line")],
            fields=LINE_FIELDS,
            order=[("sequence", "ASC"), ("id", "ASC")],
        )
        credited = [
            {
                "type": "line",
                "company": self.settings.company,
                "currency": original["currency"],
                "product": line.get("product"),
                "description": line.get("description") or "",
                "quantity": -Decimal(line["quantity"]),
                "unit_price": line["unit_price"],
                "unit": line.get("unit"),
                "account": line["account"],
                "taxes": [["add", list(line.get("taxes") or [])]],
                "origin": f"account.invoice.line,{line['id']}",
            }
            for line in lines
        ]
        values = {
            "type": "out",
            "company": self.settings.company,
            "party": original["party"],
            "invoice_address": original["invoice_address"],
            "currency": original["currency"],
            "journal": original["journal"],
            "account": original["account"],
            # Dated the day of the correction: the invoice's period may be closed by now.
            "invoice_date": on,
            "reference": reference,
            "description": f"Credit note for invoice {document_id}: {note}"[:500],
            "lines": [["create", credited]],
        }
        created = self.client.create("account.invoice", values, fields=["id"])
        return self.book(self._read(int(created["id"])))

    def _by_number(self, number: str) -> dict[str, Any]:
        found = self.client.search(
            "account.invoice",
            [("company", "=", self.settings.company), ("number", "=", number)],
            fields=["party", "invoice_address", "currency", "journal", "account", "state"],
        )
        if not found:
            raise PermanentError(
                f"invoice {number} was not found in Tryton",
                "check whether the invoice was deleted or renumbered in Tryton",
                code="invoice_missing",
            )
        return found[0]

    def invoice_document(self, document_id: str) -> tuple[str, bytes]:
        """The invoice as Tryton renders it (ODT by default), for the invoice e-mail."""
        # A posted invoice is known by its number, a draft by its record id (see _document),
        # which transfers store as "draft:<id>".
        document_id = document_id.removeprefix("draft:")
        invoice_id = document_id if document_id.isdigit() else self._by_number(document_id)["id"]
        content = self.client.report("account.invoice", int(invoice_id))
        return f"{document_id}.odt", content

    # -- lines ----------------------------------------------------------------------------

    def _lines(self, plan: DocumentPlan) -> list[dict[str, Any]]:
        currency = self._currency(plan.currency)
        origins = self._credited_lines(plan) if plan.kind == "credit_note" else {}
        lines = []
        for line in plan.lines:
            values = self._line_values(line, currency)
            origin = origins.get(line.product_number)
            if origin is not None:
                values["origin"] = f"account.invoice.line,{origin}"
            lines.append(values)
        return lines

    def _credited_lines(self, plan: DocumentPlan) -> dict[str, int]:
        """The credited invoice's line per product code, to link a credit note's lines to."""
        if not plan.credits:
            return {}
        original = self._by_number(plan.credits)
        found = self.client.search(
            "account.invoice.line",
            [("invoice", "=", original["id"]), ("type", "=", "line")],
            fields=["product.code"],
        )
        return {
            str((line.get("product") or {}).get("code")): int(line["id"])
            for line in found
            if line.get("product")
        }

    def _line_values(
        self, line: PlannedLine, currency: int, *, product: bool = True
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "type": "line",
            "company": self.settings.company,
            "currency": currency,
            "description": line.description or line.product_number,
            "quantity": line.quantity,
            "unit_price": line.unit_net_price,
            "account": self.settings.revenue_account,
            "taxes": [["add", self._taxes_for(line)]],
        }
        product_id = self._product_id(line.product_number) if product else None
        if product_id is not None:
            values["product"] = product_id
            values["unit"] = self._unit()
        return values

    def _taxes_for(self, line: PlannedLine) -> list[int]:
        code = line.vat_code
        taxes = self.settings.taxes
        keys = [code, code.removesuffix(":oss")]
        for key in keys:
            if key in taxes:
                return [taxes[key]]
        if line.vat_rate == 0 and code not in ("reverse_charge", "export"):
            return []  # no VAT at all (gift cards, rounding): a line without taxes
        if code in NO_TAX_CODES:
            return []
        what = {
            "reverse_charge": "the 0% tax of EU B2B reverse-charge sales",
            "export": "the 0% tax of exports outside the EU",
        }.get(code, f"{line.vat_rate.normalize():f}% VAT ({code})")
        key = keys[-1]
        raise PermanentError(
            f"Tryton has no tax mapped for {what}, which line {line.description!r} needs",
            "create the tax in Tryton (Financial > Configuration > Taxes) if it is missing, and "
            f"map it in the connection settings: target.taxes[{key!r}] = <tax id>",
            code="tax_missing",
        )

    # -- payments -------------------------------------------------------------------------

    def register_payment(
        self, document: TargetDocument, payment: PlannedPayment, *, first_attempt: bool = False
    ) -> dict[str, Any]:
        """Pay a posted invoice with Tryton's pay wizard, once (a paid invoice is left alone)."""
        invoice_id = int(document.data.get("id") or document.id)
        invoice = self.client.read(
            "account.invoice",
            invoice_id,
            fields=[
                "state",
                "amount_to_pay",
                "payment_lines",
                "party",
                "account",
                "currency.code",
                "company",
            ],
        )
        if invoice["state"] == "paid" or invoice.get("payment_lines"):
            return {"action": "found", "state": invoice["state"]}
        if self.rpc is None:
            raise PermanentError(
                f"payment by {payment.method} should be registered on {document.id}, but no "
                "Tryton login is set (payments go through Tryton's pay wizard, which needs "
                "JSON-RPC)",
                "enter the login and password of a Tryton user in the system's credentials, "
                "or remove the method from settled_payment_methods",
                code="payment_login",
            )
        method = self.settings.payment_methods.get(
            payment.method, self.settings.default_payment_method
        )
        if method is None:
            raise PermanentError(
                f"no Tryton payment method is mapped for the shop's {payment.method!r}",
                "map it in the connection settings: target.payment_methods"
                f"[{payment.method!r}] = <payment method id> (Financial > Configuration > "
                "Invoice Payment Methods), or set target.default_payment_method",
                code="payment_method",
            )
        currency = invoice["currency"]["code"]
        if currency != payment.currency:
            raise PermanentError(
                f"the payment is in {payment.currency} but invoice {document.id} in {currency}",
                "register this payment in Tryton by hand",
                code="payment_currency",
            )
        if Decimal(invoice["amount_to_pay"]) != payment.amount:
            raise PermanentError(
                f"the payment of {payment.amount} does not settle invoice {document.id}, which "
                f"has {invoice['amount_to_pay']} to pay",
                "register the payment in Tryton by hand (partial payments are not registered "
                "automatically)",
                code="payment_amount",
            )
        party = _id(invoice["party"])
        start = {
            "amount": payment.amount,
            "currency": _id(invoice["currency"]),
            "description": payment.text[:250],
            "payment_method": method,
            "date": payment.paid_on,
            "payee": party,
            "payees": [party],
            "company": _id(invoice["company"]),
            "invoice_account": _id(invoice["account"]),
        }
        try:
            self.rpc.run_wizard(
                "account.invoice.pay", "account.invoice", invoice_id, "choice", {"start": start}
            )
        except TrytonWarning as warning:
            raise PermanentError(warning.reason, warning.fix, code=warning.code) from warning
        paid = self.client.read("account.invoice", invoice_id, fields=["state"])
        return {"action": "created", "state": paid["state"], "method": method}

    # -- customers ------------------------------------------------------------------------

    def ensure_customer(self, customer: PlannedCustomer) -> CustomerResult:
        collective = self.settings.collective_customer
        if collective is not None and customer.kind == "b2c":
            found = self.client.search(
                "party.party", [("id", "=", collective)], fields=["active"], active_test=False
            )
            if not found or not found[0].get("active", True):
                raise PermanentError(
                    f"the collective party {collective} for consumer orders does not exist in "
                    "Tryton or is inactive",
                    "create or reactivate it in Tryton, or change target.collective_customer",
                    code="collective_customer",
                )
            return CustomerResult(str(collective), "collective")
        for party in self.client.search(
            "party.party",
            self._match_domain(customer),
            fields=["name", "active", "code"],
            active_test=False,
            limit=1,
        ):
            if not party.get("active", True):
                raise PermanentError(
                    f"the customer {customer.match_value!r} matches party {party.get('code')} "
                    f"({party.get('name')}), which is inactive in Tryton",
                    f"reactivate party {party.get('code')} in Tryton, then retry the transfer",
                    code="customer_inactive",
                )
            return CustomerResult(str(party["id"]), "matched")
        values, notes = self._party_values(customer)
        created = self.client.create("party.party", values, fields=["code"])
        return CustomerResult(str(created["id"]), "created", tuple(notes))

    def _match_domain(self, customer: PlannedCustomer) -> list[Any]:
        value = customer.match_value
        field = customer.match_field
        if field == "email":
            return [
                ("contact_mechanisms", "where", [("type", "=", "email"), ("value", "=", value)])
            ]
        if field == "phone":
            return [
                (
                    "contact_mechanisms",
                    "where",
                    [("type", "in", ["phone", "mobile"]), ("value", "=", value)],
                )
            ]
        if field == "vat_number":
            return [("identifiers.code", "=", eu_vat.compact(value))]
        if field == "customer_number":
            return [("code", "=", value)]
        raise PermanentError(
            f"Tryton cannot match customers on {field!r}",
            "set target.customer_match_field to email, phone, vat_number or customer_number",
            code="match_field",
        )

    def _party_values(self, customer: PlannedCustomer) -> tuple[dict[str, Any], list[str]]:
        notes: list[str] = []
        mechanisms = [{"type": "email", "value": customer.email}] if customer.email else []
        if customer.phone:
            mechanisms.append({"type": "phone", "value": customer.phone})
        values: dict[str, Any] = {
            "name": customer.name or customer.email or customer.match_value,
            "contact_mechanisms": [["create", mechanisms]],
            "addresses": [["create", [self._address_values(customer, notes)]]],
        }
        if customer.match_field == "customer_number":
            values["code"] = customer.match_value
        vat = eu_vat.compact(customer.vat_number) if customer.vat_number else ""
        if vat and eu_vat.is_valid(vat):
            values["identifiers"] = [["create", [{"type": "eu_vat", "code": vat}]]]
        elif vat:
            notes.append(f"VAT number {customer.vat_number!r} is not valid; not stored in Tryton")
        return values, notes

    def _address_values(self, customer: PlannedCustomer, notes: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "street": customer.street,
            "postal_code": customer.postcode,
            "city": customer.city,
        }
        country = self._country(customer.country) if customer.country else None
        if country is not None:
            values["country"] = country
        elif customer.country:
            notes.append(
                f"country {customer.country} is not in Tryton; the address has no country "
                "(import the countries with trytond_import_countries)"
            )
        return values

    def _invoice_address(self, party: int, customer: PlannedCustomer) -> int:
        found = self.client.search(
            "party.address", [("party", "=", party)], fields=["id"], limit=1, active_test=False
        )
        if found:
            return int(found[0]["id"])
        created = self.client.create(
            "party.address", {"party": party, **self._address_values(customer, [])}, fields=["id"]
        )
        return int(created["id"])

    def _tax_identifier(self, party: int) -> int | None:
        found = self.client.search(
            "party.identifier",
            [("party", "=", party), ("type", "=", "eu_vat")],
            fields=["id"],
            limit=1,
        )
        return int(found[0]["id"]) if found else None

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

    def _find_product(self, code: str) -> dict[str, Any] | None:
        found = self.client.search(
            "product.product",
            [("code", "=", code)],
            fields=["active", "template.name"],
            active_test=False,
            limit=1,
        )
        return found[0] if found else None

    def _product_id(self, code: str) -> int | None:
        """The product of a line (found by ``ensure_products``, or searched again here)."""
        if ("product", code) not in self._ids:
            found = self._find_product(code)
            if found is None:
                return None
            self._ids[("product", code)] = int(found["id"])
        return self._ids[("product", code)]

    def _ensure_product(self, line: PlannedLine) -> dict[str, Any]:
        code = line.product_number
        product = self._find_product(code)
        if product is not None:
            if not product.get("active", True):
                raise PermanentError(
                    f"the product {code!r} is inactive in Tryton, so Kobling will not invoice "
                    "it (nor create it a second time)",
                    f"reactivate product {code} in Tryton (or sell another product), then retry "
                    "the transfer",
                    code="product_inactive",
                )
            self._ids[("product", code)] = int(product["id"])
            return {"code": code, "action": "found"}
        if not self.settings.auto_create_products:
            raise PermanentError(
                f"the product {code!r} does not exist in Tryton",
                f"create a product with code {code} in Tryton, or allow Kobling to create "
                "products in the connection settings",
                code="product_missing",
            )
        template: dict[str, Any] = {
            "name": line.description or code,
            "code": code,
            "type": "goods" if line.kind == "product" else "service",
            "default_uom": self._unit(),
            "list_price": max(line.unit_net_price, Decimal(0)),
            "products": [["create", [{}]]],
        }
        if self.settings.product_category is not None:
            template["account_category"] = self.settings.product_category
        try:
            self.client.create("product.template", template, fields=["id"])
        except PermanentError:
            if self._find_product(code) is None:
                raise
        created = self._find_product(code)
        if created is None:  # pragma: no cover - Tryton answered the create
            raise PermanentError(
                f"the product {code!r} was not found after creating it",
                "check the product's code in Tryton, then retry the transfer",
            )
        self._ids[("product", code)] = int(created["id"])
        return {"code": code, "action": "created"}

    # -- master data ------------------------------------------------------------------------

    def _lookup(self, model: str, field: str, value: str, what: str, fix: str) -> int:
        key = (model, value)
        if key not in self._ids:
            found = self.client.search(model, [(field, "=", value)], fields=["id"], limit=1)
            if not found:
                raise PermanentError(f"Tryton has no {what} {value}", fix, code="master_data")
            self._ids[key] = int(found[0]["id"])
        return self._ids[key]

    def _currency(self, code: str) -> int:
        return self._lookup(
            "currency.currency",
            "code",
            code,
            "currency",
            f"add currency {code} with an exchange rate in Tryton (Currency > Currencies)",
        )

    def _unit(self) -> int:
        return self._lookup(
            "product.uom", "symbol", "u", "unit", "Tryton's product module defines the unit 'u'"
        )

    def _country(self, code: str) -> int | None:
        try:
            return self._lookup("country.country", "code", code, "country", "")
        except PermanentError:
            return None

    def close(self) -> None:
        self.client.close()
        if self.rpc is not None:
            self.rpc.close()


def _id(value: Any) -> int:
    return int(value["id"]) if isinstance(value, dict) else int(value)

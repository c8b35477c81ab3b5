"""Journals (daybooks, "Kassekladder") and customer-payment vouchers of the e-conomic simulator.

Facts from the fact sheet ``shared/reference/apis/e-conomic.md`` §10 and the 2019 endpoint
extraction, which lists these endpoints under their experimental name ``/journals-experimental``
(today's name is ``/journals``; the simulator serves both and links with ``/journals``).

What is simulated: one seeded journal, 1 "Kassekladde", whose default contra account for customer
payments is 5820; ``POST /journals/{n}/vouchers`` with ``entries.customerPayments`` (one voucher
object per request); reading vouchers back. Vouchers stay **unbooked**: the documented API has no
"book journal" endpoint, so a payment never changes a booked invoice's ``remainder``.

What is not: the other entry kinds (``financeVouchers``, ``manualCustomerInvoices``,
``supplierInvoices``, ``supplierPayments``) and bulk bodies (a JSON array of vouchers) are
rejected with a 400; templates, entries, attachments and ``/accounts`` are not served (contra
accounts are not checked against a chart of accounts); an entry's own ``voucher`` is ignored
(e-conomic may split one POST into several vouchers by it, hence the array response).

Assumptions (not in the docs; codes ``SIM-...``, see :mod:`.sandbox_spec`): an entry without
``currency`` is in the base currency; its currency must equal that of the invoice it settles;
``customerInvoice`` must belong to the entry's customer; the entry date must lie in an open
accounting year, and in the voucher's ``accountingYear``; a chosen ``voucherNumber`` must be
free in its year. Voucher numbers run per accounting year, across journals.

This module holds the rules and documents; :mod:`.sandbox` does HTTP, locking and links.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from kobling.connectors.economic.escaping import self_link_path_segment
from kobling.connectors.economic.sandbox_spec import (
    E_CLOSED_YEAR,
    E_DOES_NOT_EXIST,
    E_DUPLICATE,
    E_MISMATCH,
    E_NO_IDENTIFIER,
    E_NO_YEAR,
    E_NOT_SIMULATED,
    E_REQUIRED,
    E_SCALE,
    EndpointSpec,
    ErrorNode,
    PropertySpec,
    decimal_places,
)

__all__ = [
    "CUSTOMER_PAYMENTS",
    "DEFAULT_JOURNAL",
    "JOURNALS_SPEC_PATH",
    "PAYMENTS_CONTRA_ACCOUNT",
    "VOUCHERS_SPEC_PATH",
    "VoucherContext",
    "build_voucher",
    "check_open_date",
    "check_voucher",
    "link_journal",
    "link_voucher",
    "payments_for_invoice",
    "seed_journals",
    "voucher_link",
    "vouchers_list_spec",
    "year_containing",
]

# The spec knows these endpoints only under their 2019 name.
JOURNALS_SPEC_PATH: Final = "/journals-experimental"
VOUCHERS_SPEC_PATH: Final = "/journals-experimental/:journalNumber/vouchers"
CUSTOMER_PAYMENTS: Final = "customerPayments"
DEFAULT_JOURNAL: Final = 1
PAYMENTS_CONTRA_ACCOUNT: Final = 5820
_ACCOUNT_SELF = re.compile(r"/accounts/(\d+)/?$")

# (container, key, node) -> the referenced stored document, or None after adding an error.
Resolver = Callable[[dict[str, Any], str, ErrorNode], dict[str, Any] | None]
# (currency code, exchangeRate given or None) -> price of 100 units in the base currency.
RateFor = Callable[[str, Any], Decimal]


def seed_journals() -> dict[int, dict[str, Any]]:
    """Journal 1 "Kassekladde", open to every entry type (``entryTypeRestrictedTo`` absent)."""
    return {
        DEFAULT_JOURNAL: {
            "journalNumber": DEFAULT_JOURNAL,
            "name": "Kassekladde",
            "settings": {
                "contraAccounts": {
                    CUSTOMER_PAYMENTS: {"accountNumber": PAYMENTS_CONTRA_ACCOUNT},
                },
            },
        }
    }


def vouchers_list_spec(spec: EndpointSpec) -> EndpointSpec:
    """The voucher collection's spec; it lists nothing filterable, so allow ``voucherNumber``."""
    if spec.filterable:
        return spec
    properties = dict(spec.properties)
    properties.setdefault("voucherNumber", PropertySpec("voucherNumber", type="number"))
    return dataclasses.replace(spec, filterable=("voucherNumber",), properties=properties)


# --- accounting years ---------------------------------------------------------------------


def year_containing(years: Mapping[Any, Mapping[str, Any]], day: str) -> Mapping[str, Any] | None:
    """The accounting year whose ``fromDate``..``toDate`` holds ``day`` (ISO dates compare)."""
    return next((y for y in years.values() if y["fromDate"] <= day <= y["toDate"]), None)


def check_open_date(
    years: Mapping[Any, Mapping[str, Any]], day: str, node: ErrorNode, *, action: str
) -> Mapping[str, Any] | None:
    """Add an error to ``node`` unless ``day`` is in an open accounting year (§8)."""
    year = year_containing(years, day)
    if year is None:
        node.add(
            E_NO_YEAR,
            f"The date {day} is not within any accounting year.",
            value=day,
            hint="Create the accounting year in e-conomic, or use another date.",
        )
    elif year.get("closed"):
        node.add(
            E_CLOSED_YEAR,
            f"The accounting year {year['year']} is closed; cannot {action} on {day}.",
            value=day,
            hint="Open the accounting year (or period) in e-conomic, or use another date.",
        )
    return year


# --- checking a voucher -------------------------------------------------------------------


@dataclass(frozen=True)
class VoucherContext:
    """What the voucher rules need from the simulator: its state and two of its helpers."""

    store: Mapping[str, Mapping[Any, dict[str, Any]]]
    journal: Mapping[str, Any]
    base_currency: str
    resolve: Resolver
    rate_for: RateFor

    @property
    def journal_number(self) -> int:
        return int(self.journal["journalNumber"])

    def default_contra_account(self) -> int | None:
        accounts = self.journal.get("settings", {}).get("contraAccounts", {})
        number = accounts.get(CUSTOMER_PAYMENTS, {}).get("accountNumber")
        return int(number) if number is not None else None


def check_voucher(document: dict[str, Any], ctx: VoucherContext, errors: ErrorNode) -> str | None:
    """Check a spec-cleaned voucher body; return its accounting year (None if unusable).

    References are normalized in place (``{"customerNumber": 1}`` etc.), as ``resolve`` does.
    """
    if "journal" in document:
        journal = _reference(document, "journal", ctx, errors)
        if journal is not None and journal["journalNumber"] != ctx.journal_number:
            errors.child("journal").add(
                E_MISMATCH,
                "journal must be the journal in the URL.",
                value=journal["journalNumber"],
            )
    year = _accounting_year(document, ctx, errors)
    _check_voucher_number(document, year, ctx, errors)
    entries = document.get("entries")
    node = errors.child("entries")
    if not isinstance(entries, dict):
        if not node:
            node.add(E_REQUIRED, "Property entries is required.")
        return year
    others = [kind for kind in entries if kind != CUSTOMER_PAYMENTS]
    for kind in others:  # on entries itself: errors of the kind's elements would hide it
        node.add(
            E_NOT_SIMULATED,
            f"The Kobling sandbox does not simulate {kind} entries.",
            value=kind,
            hint="Only entries.customerPayments are simulated.",
        )
    payments = entries.get(CUSTOMER_PAYMENTS)
    if not isinstance(payments, list) or not payments:
        if not others and not node.child(CUSTOMER_PAYMENTS):
            node.child(CUSTOMER_PAYMENTS).add(E_REQUIRED, "A voucher needs at least one entry.")
        return year
    for index, entry in enumerate(payments):
        if isinstance(entry, dict):
            _check_payment(entry, year, ctx, node.element(CUSTOMER_PAYMENTS, index))
    return year


def _reference(
    container: dict[str, Any], key: str, ctx: VoucherContext, node: ErrorNode
) -> dict[str, Any] | None:
    """``resolve``, plus an error for a reference that is not an object (spec-less runs)."""
    if key in container and not isinstance(container[key], dict) and not node.child(key):
        node.child(key).add(E_NO_IDENTIFIER, f"{key} must be an object with an identifier.")
        return None
    return ctx.resolve(container, key, node)


def _require(container: Mapping[str, Any], key: str, node: ErrorNode) -> None:
    """Required even without the spec file; nothing added if the spec check reported it."""
    if key not in container and not node.child(key):
        node.child(key).add(E_REQUIRED, f"Property {key} is required.")


def _accounting_year(
    document: dict[str, Any], ctx: VoucherContext, errors: ErrorNode
) -> str | None:
    _require(document, "accountingYear", errors)
    year = _reference(document, "accountingYear", ctx, errors)
    if year is None:
        return None
    if year.get("closed"):
        errors.child("accountingYear").add(
            E_CLOSED_YEAR,
            f"The accounting year {year['year']} is closed.",
            value=year["year"],
            hint="Open the accounting year in e-conomic, or use another year.",
        )
    return str(year["year"])


def _check_voucher_number(
    document: Mapping[str, Any], year: str | None, ctx: VoucherContext, errors: ErrorNode
) -> None:
    number = document.get("voucherNumber")
    if number is None or year is None or errors.child("voucherNumber"):
        return
    if (year, number) in ctx.store["vouchers"]:
        errors.child("voucherNumber").add(
            E_DUPLICATE,
            f"Voucher {number} already exists in accounting year {year}.",
            value=number,
            hint="Leave voucherNumber out to get the next free number.",
        )


def _check_payment(
    entry: dict[str, Any], year: str | None, ctx: VoucherContext, node: ErrorNode
) -> None:
    """One ``customerPayments`` entry: amount, date, customer, invoice, contra account, currency."""
    _require(entry, "amount", node)
    _require(entry, "date", node)
    amount = entry.get("amount")
    if (
        isinstance(amount, int | Decimal)
        and not isinstance(amount, bool)
        and decimal_places(amount) > 2
        and not node.child("amount")
    ):
        node.child("amount").add(
            E_SCALE,
            "amount scale cannot be greater then two decimal places.",
            value=amount,
            hint="Please check the format of your data.",
        )
    if "customer" not in entry and "contraAccount" not in entry:
        node.child("customer").add(E_REQUIRED, "Either customer or contraAccount is required.")
    customer = _reference(entry, "customer", ctx, node) if "customer" in entry else None
    invoice = _settled_invoice(entry, customer, ctx, node)
    _check_entry_date(entry, year, ctx, node)
    _check_contra_account(entry, ctx, node)
    _check_entry_currency(entry, invoice, ctx, node)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _settled_invoice(
    entry: Mapping[str, Any],
    customer: Mapping[str, Any] | None,
    ctx: VoucherContext,
    node: ErrorNode,
) -> Mapping[str, Any] | None:
    """The booked invoice ``customerInvoice`` names; E06000 if there is none."""
    number = entry.get("customerInvoice")
    if number is None or node.child("customerInvoice"):
        return None
    invoice = ctx.store["invoices/booked"].get(number) if _is_number(number) else None
    if invoice is None:
        node.child("customerInvoice").add(
            E_DOES_NOT_EXIST,
            "customerInvoice does not exist.",
            value=number,
            hint="customerInvoice is the bookedInvoiceNumber of a booked invoice.",
        )
        return None
    owner = invoice["customer"]["customerNumber"]
    if customer is not None and owner != customer["customerNumber"]:
        node.child("customerInvoice").add(
            E_MISMATCH,
            f"Invoice {number} belongs to customer {owner}, not {customer['customerNumber']}.",
            value=number,
        )
    return invoice


def _check_entry_date(
    entry: Mapping[str, Any], year: str | None, ctx: VoucherContext, node: ErrorNode
) -> None:
    day = entry.get("date")
    if not isinstance(day, str) or node.child("date"):
        return
    years = ctx.store["accounting-years"]
    found = check_open_date(years, day, node.child("date"), action="enter a voucher")
    if found is not None and year is not None and found["year"] != year:
        node.child("date").add(
            E_MISMATCH,
            f"The date {day} is not in the voucher's accounting year {year}.",
            value=day,
            hint="Use the accounting year that contains the entry date.",
        )


def _check_contra_account(entry: dict[str, Any], ctx: VoucherContext, node: ErrorNode) -> None:
    """Normalize ``contraAccount`` (number or self); default to the journal's (§10)."""
    ref = entry.get("contraAccount")
    if ref is None:
        default = ctx.default_contra_account()
        if default is None:
            node.child("contraAccount").add(
                E_REQUIRED, "The journal has no default contra account; send contraAccount."
            )
        else:
            entry["contraAccount"] = {"accountNumber": default}
        return
    if node.child("contraAccount"):
        return
    number = ref.get("accountNumber") if isinstance(ref, dict) else None
    if number is None and isinstance(ref, dict) and isinstance(ref.get("self"), str):
        found = _ACCOUNT_SELF.search(ref["self"])
        number = int(found.group(1)) if found else None
    if number is None:
        node.child("contraAccount").add(
            E_NO_IDENTIFIER,
            "No identifiers present on contraAccount. Please include either a self link or an "
            "accountNumber.",
        )
        return
    entry["contraAccount"] = {"accountNumber": number}


def _check_entry_currency(
    entry: dict[str, Any],
    invoice: Mapping[str, Any] | None,
    ctx: VoucherContext,
    node: ErrorNode,
) -> None:
    """The entry's currency (base currency when omitted) must be the settled invoice's."""
    code = ctx.base_currency
    if "currency" in entry:
        currency = _reference(entry, "currency", ctx, node)
        if currency is None:
            return
        code = currency["code"]
    if invoice is not None and invoice["currency"] != code:
        node.child("currency").add(
            E_MISMATCH,
            f"The payment is in {code} but invoice {invoice['bookedInvoiceNumber']} is in "
            f"{invoice['currency']}.",
            value=code,
            hint="Send currency.code equal to the invoice's currency; omitted means the base "
            "currency.",
        )


# --- the stored voucher -------------------------------------------------------------------


def build_voucher(
    document: Mapping[str, Any], ctx: VoucherContext, year: str, number: int
) -> dict[str, Any]:
    """The voucher as stored: references as numbers, entries completed with type and amounts."""
    entries = []
    for given in document["entries"][CUSTOMER_PAYMENTS]:
        entry = {k: copy.deepcopy(v) for k, v in given.items() if k not in ("journal", "voucher")}
        entry.setdefault("currency", {"code": ctx.base_currency})
        rate = ctx.rate_for(entry["currency"]["code"], given.get("exchangeRate"))
        entry["exchangeRate"] = rate
        entry.setdefault("amountBaseCurrency", _cents(Decimal(given["amount"]) * rate / 100))
        entry["entryType"] = "customerPayment"
        entry["journal"] = {"journalNumber": ctx.journal_number}
        entry["voucher"] = {"voucherNumber": number}
        entries.append(entry)
    return {
        "voucherNumber": number,
        "accountingYear": {"year": year},
        "journal": {"journalNumber": ctx.journal_number},
        "entries": {CUSTOMER_PAYMENTS: entries},
    }


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def payments_for_invoice(
    vouchers: Iterable[Mapping[str, Any]], booked_invoice_number: int
) -> list[dict[str, Any]]:
    """Copies of the customer-payment entries that name ``booked_invoice_number``."""
    return [
        copy.deepcopy(entry)
        for voucher in vouchers
        for entry in voucher["entries"].get(CUSTOMER_PAYMENTS, [])
        if entry.get("customerInvoice") == booked_invoice_number
    ]


# --- links --------------------------------------------------------------------------------


def voucher_link(base: str, journal_number: int, year: str, number: int) -> str:
    """``{base}/journals/{n}/vouchers/{accountingYear}-{voucherNumber}`` (§10)."""
    return f"{base}/journals/{journal_number}/vouchers/{self_link_path_segment(year)}-{number}"


def _account_link(base: str, number: Any) -> str:
    # /accounts is not simulated; the link is there because e-conomic always sends it.
    return f"{base}/accounts/{number}"


def link_journal(out: dict[str, Any], base: str, own: str) -> None:
    """Add a rendered journal's links: its vouchers and its contra accounts."""
    for account in out.get("settings", {}).get("contraAccounts", {}).values():
        if isinstance(account, dict) and "accountNumber" in account:
            account["self"] = _account_link(base, account["accountNumber"])
    out["vouchers"] = f"{own}/vouchers"


def link_voucher(out: dict[str, Any], base: str) -> str:
    """Add a rendered voucher's own links (the rest come from the generic reference links)."""
    own = voucher_link(
        base, out["journal"]["journalNumber"], out["accountingYear"]["year"], out["voucherNumber"]
    )
    for entry in out["entries"].get(CUSTOMER_PAYMENTS, []):
        entry["voucher"]["self"] = own
        if "contraAccount" in entry:
            entry["contraAccount"]["self"] = _account_link(
                base, entry["contraAccount"]["accountNumber"]
            )
    out["self"] = own
    return own

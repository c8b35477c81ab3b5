"""The e-conomic simulator's journals, payment vouchers and configurable product groups.

Over real HTTP, with the server and helpers of ``test_sandbox``. Amounts are worked out by hand
in each test; required properties and max lengths are read from the spec file, not copied.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from kobling.connectors.economic import sandbox_spec
from kobling.connectors.economic.sandbox import EconomicSandbox
from tests.connectors.economic import test_sandbox
from tests.connectors.economic.test_sandbox import (
    AUTH,
    _Switch,
    body_of,
    codes,
    customer_body,
    draft_body,
    errors_of,
    line,
    post,
    product_body,
    spec_entry,
)

# The fixtures of test_sandbox: one uvicorn server per module, a fresh sandbox per test.
server = test_sandbox.server
sandbox = test_sandbox.sandbox
api = test_sandbox.api
spec_endpoints = test_sandbox.spec_endpoints

VOUCHERS_SPEC = "/journals-experimental/:journalNumber/vouchers"


# --- helpers ------------------------------------------------------------------------------


def book_invoice(
    api: httpx.Client, number: int, *lines: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    """Draft and book an invoice as ``number`` (dated 2026-04-01 unless overridden)."""
    body = draft_body(list(lines) or [line(quantity="1", price="100.00")], date="2026-04-01")
    body.update(overrides)
    draft = post(api, "/invoices/drafts", body)
    assert draft.status_code == 201, draft.text
    booked = post(
        api,
        "/invoices/booked",
        {"draftInvoice": {"draftInvoiceNumber": body_of(draft)["draftInvoiceNumber"]}}
        | {"bookWithNumber": number},
    )
    assert booked.status_code == 201, booked.text
    invoice: dict[str, Any] = body_of(booked)
    return invoice


def setup(api: httpx.Client) -> None:
    """Customer 1, product SKU-1 (group 1, 25 %), invoice 10001: 100.00 + 25.00 VAT."""
    assert post(api, "/customers", customer_body()).status_code == 201
    assert post(api, "/products", product_body("SKU-1", 1)).status_code == 201
    assert book_invoice(api, 10001)["grossAmount"] == Decimal("125.00")


def payment(**overrides: Any) -> dict[str, Any]:
    """The customer payment of the fact sheet's example (§10), for invoice 10001."""
    entry: dict[str, Any] = {
        "customer": {"customerNumber": 1},
        "amount": Decimal("-125.00"),
        "contraAccount": {"accountNumber": 5820},
        "currency": {"code": "DKK"},
        "date": "2026-05-01",
        "text": "Payment order 1001",
        "customerInvoice": 10001,
    }
    entry.update(overrides)
    return entry


def voucher_body(*entries: dict[str, Any], year: str = "2026", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "accountingYear": {"year": year},
        "journal": {"journalNumber": 1},
        "entries": {"customerPayments": list(entries) or [payment()]},
    }
    body.update(overrides)
    return body


def create_voucher(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = post(api, "/journals/1/vouchers", body)
    assert response.status_code == 201, response.text
    created = body_of(response)
    assert isinstance(created, list)
    assert len(created) == 1
    voucher: dict[str, Any] = created[0]
    assert response.headers["Location"] == voucher["self"]
    return voucher


def entry_errors(response: httpx.Response) -> dict[str, Any]:
    """The annotated errors of the first customer-payment entry."""
    errors = errors_of(response)
    first: dict[str, Any] = errors["entries"]["customerPayments"][0]
    assert first["arrayIndex"] == 0
    return first


# --- journals -----------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/journals", "/journals-experimental"])
def test_journal_1_is_seeded(api: httpx.Client, server: tuple[str, _Switch], prefix: str) -> None:
    base = server[0]
    listing = body_of(api.get(prefix))
    assert [j["journalNumber"] for j in listing["collection"]] == [1]
    journal = body_of(api.get(f"{prefix}/1"))
    assert journal == listing["collection"][0]
    assert journal["name"] == "Kassekladde"
    assert journal["settings"]["contraAccounts"]["customerPayments"]["accountNumber"] == 5820
    assert "entryTypeRestrictedTo" not in journal["settings"]
    assert journal["self"] == f"{base}/journals/1"
    assert journal["vouchers"] == f"{base}/journals/1/vouchers"
    assert api.get(f"{prefix}/2").status_code == 404
    assert api.get(f"{prefix}/2/vouchers").status_code == 404
    assert post(api, f"{prefix}/2/vouchers", voucher_body()).status_code == 404


def test_journals_filter_on_the_specs_filterable_properties(api: httpx.Client) -> None:
    found = body_of(api.get("/journals", params={"filter": "name$eq:kassekladde"}))
    assert [j["journalNumber"] for j in found["collection"]] == [1]
    none = body_of(api.get("/journals", params={"filter": "journalNumber$gt:1"}))
    assert none["collection"] == []
    assert api.get("/journals", params={"filter": "vouchers$eq:x"}).status_code == 400


# --- creating and reading vouchers --------------------------------------------------------


def test_voucher_created_and_listed(
    api: httpx.Client, sandbox: EconomicSandbox, server: tuple[str, _Switch]
) -> None:
    base = server[0]
    setup(api)
    first = create_voucher(api, voucher_body())
    assert first["voucherNumber"] == 1
    assert first["accountingYear"]["year"] == "2026"
    assert first["journal"]["journalNumber"] == 1
    assert first["self"] == f"{base}/journals/1/vouchers/2026-1"
    [entry] = first["entries"]["customerPayments"]
    assert entry["amount"] == Decimal("-125.00")
    assert entry["amountBaseCurrency"] == Decimal("-125.00")  # DKK is the base currency
    assert entry["customerInvoice"] == 10001
    assert entry["customer"] == {"customerNumber": 1, "self": f"{base}/customers/1"}
    assert entry["contraAccount"]["accountNumber"] == 5820
    assert entry["currency"]["code"] == "DKK"
    assert entry["entryType"] == "customerPayment"
    assert entry["voucher"] == {"voucherNumber": 1, "self": first["self"]}

    second = create_voucher(api, voucher_body(payment(amount=Decimal("-10.00"))))
    assert second["voucherNumber"] == 2
    on_account = payment(date="2025-06-30")  # numbers run per accounting year
    del on_account["customerInvoice"]
    other_year = create_voucher(api, voucher_body(on_account, year="2025"))
    assert other_year["voucherNumber"] == 1
    assert other_year["self"] == f"{base}/journals/1/vouchers/2025-1"

    listing = body_of(api.get("/journals/1/vouchers"))
    assert [(v["accountingYear"]["year"], v["voucherNumber"]) for v in listing["collection"]] == [
        ("2025", 1),
        ("2026", 1),
        ("2026", 2),
    ]
    assert listing["pagination"]["results"] == 3
    found = body_of(api.get("/journals/1/vouchers", params={"filter": "voucherNumber$eq:2"}))
    assert [v["self"] for v in found["collection"]] == [second["self"]]
    assert body_of(api.get("/journals/1/vouchers/2026-2")) == second
    assert body_of(api.get("/journals-experimental/1/vouchers/2026-1")) == first
    assert api.get("/journals/1/vouchers/2026-9").status_code == 404
    assert api.get("/journals/1/vouchers/2031-1").status_code == 404
    # the collection lists nothing filterable or sortable: only voucherNumber is allowed
    assert api.get("/journals/1/vouchers", params={"filter": "text$eq:x"}).status_code == 400
    assert api.get("/journals/1/vouchers", params={"sort": "voucherNumber"}).status_code == 400

    assert [(v["accountingYear"]["year"], v["voucherNumber"]) for v in sandbox.vouchers()] == [
        ("2025", 1),
        ("2026", 1),
        ("2026", 2),
    ]
    # unbooked in the journal: the invoice's remainder does not change (§10)
    assert body_of(api.get("/invoices/booked/10001"))["remainder"] == Decimal("125.00")
    assert sandbox.booked_invoices()[0]["remainder"] == Decimal("125.00")


def test_references_by_self_link_and_defaults(
    api: httpx.Client, sandbox: EconomicSandbox, server: tuple[str, _Switch]
) -> None:
    base = server[0]
    setup(api)
    entry = payment(customer={"self": f"{base}/customers/1"})
    del entry["contraAccount"], entry["currency"]  # the journal's contra account; base currency
    body = voucher_body(
        entry,
        accountingYear={"self": f"{base}/accounting-years/2026"},
        journal={"self": f"{base}/journals-experimental/1"},
    )
    voucher = create_voucher(api, body)
    [stored] = sandbox.vouchers()[0]["entries"]["customerPayments"]
    assert stored["customer"] == {"customerNumber": 1}
    assert stored["contraAccount"] == {"accountNumber": 5820}
    assert stored["currency"] == {"code": "DKK"}
    assert voucher["accountingYear"] == {"year": "2026", "self": f"{base}/accounting-years/2026"}


def test_chosen_voucher_number(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    setup(api)
    assert create_voucher(api, voucher_body(voucherNumber=50))["voucherNumber"] == 50
    assert create_voucher(api, voucher_body())["voucherNumber"] == 51
    taken = errors_of(post(api, "/journals/1/vouchers", voucher_body(voucherNumber=50)))
    assert codes(taken["voucherNumber"]) == ["SIM-DUPLICATE"]
    assert [v["voucherNumber"] for v in sandbox.vouchers()] == [50, 51]


def test_payment_in_the_invoices_foreign_currency(api: httpx.Client) -> None:
    setup(api)
    book_invoice(api, 10002, currency="EUR")  # 100.00 + 25 % = 125.00 EUR
    entry = payment(customerInvoice=10002, currency={"code": "EUR"})
    [voucher] = body_of(post(api, "/journals/1/vouchers", voucher_body(entry)))
    [stored] = voucher["entries"]["customerPayments"]
    assert stored["exchangeRate"] == Decimal("746.00")  # the sandbox's fixed EUR rate
    assert stored["amountBaseCurrency"] == Decimal("-932.50")  # -125.00 × 746.00 / 100


# --- validation ---------------------------------------------------------------------------


def _without(entry: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != key}


@pytest.mark.parametrize(
    ("entry", "prop", "code"),
    [
        (_without(payment(), "amount"), "amount", "SIM-REQUIRED"),
        (_without(payment(), "date"), "date", "SIM-REQUIRED"),
        (payment(customerInvoice=99999), "customerInvoice", "E06000"),
        (payment(customer={"customerNumber": 7}), "customer", "E06000"),
        (payment(currency={"code": "EUR"}), "currency", "SIM-MISMATCH"),  # invoice is in DKK
        (payment(currency={"code": "ZUL"}), "currency", "E06000"),
        (payment(amount=Decimal("-125.005")), "amount", "E04740"),
        (payment(date="2030-01-01"), "date", "SIM-NO-ACCOUNTING-YEAR"),
        (payment(date="2025-12-31"), "date", "SIM-MISMATCH"),  # not in the voucher's 2026
        (payment(date="2026-13-01"), "date", "SIM-FORMAT"),
        (payment(amount="-125.00"), "amount", "SIM-TYPE"),
    ],
)
def test_invalid_customer_payment(
    api: httpx.Client, sandbox: EconomicSandbox, entry: dict[str, Any], prop: str, code: str
) -> None:
    setup(api)
    errors = entry_errors(post(api, "/journals/1/vouchers", voucher_body(entry)))
    assert codes(errors[prop]) == [code]
    assert sandbox.vouchers() == []


def test_foreign_currency_invoice_needs_the_currency_on_the_payment(api: httpx.Client) -> None:
    setup(api)
    book_invoice(api, 10002, currency="EUR")
    entry = _without(payment(customerInvoice=10002), "currency")  # omitted: DKK
    errors = entry_errors(post(api, "/journals/1/vouchers", voucher_body(entry)))
    assert codes(errors["currency"]) == ["SIM-MISMATCH"]


def test_invoice_of_another_customer(api: httpx.Client) -> None:
    setup(api)
    assert post(api, "/customers", customer_body(name="Other")).status_code == 201
    entry = payment(customer={"customerNumber": 2})  # 10001 is customer 1's
    errors = entry_errors(post(api, "/journals/1/vouchers", voucher_body(entry)))
    assert codes(errors["customerInvoice"]) == ["SIM-MISMATCH"]


@pytest.mark.parametrize(
    ("body", "prop", "code"),
    [
        (_without(voucher_body(), "accountingYear"), "accountingYear", "SIM-REQUIRED"),
        (voucher_body(year="2031"), "accountingYear", "E06000"),
        (voucher_body(journal={"journalNumber": 2}), "journal", "E06000"),
        (voucher_body(entries={"customerPayments": []}), "entries", None),
        (voucher_body(entries={"financeVouchers": [{}]}), "entries", "SIM-NOT-SIMULATED"),
    ],
)
def test_invalid_voucher(
    api: httpx.Client,
    sandbox: EconomicSandbox,
    body: dict[str, Any],
    prop: str,
    code: str | None,
) -> None:
    setup(api)
    errors = errors_of(post(api, "/journals/1/vouchers", body))
    if code is None:
        assert codes(errors[prop]["customerPayments"]) == ["SIM-REQUIRED"]
    else:
        assert code in codes(errors[prop])
    assert sandbox.vouchers() == []


def test_bulk_array_body_is_rejected(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    setup(api)
    response = post(api, "/journals/1/vouchers", [voucher_body()])
    assert codes(errors_of(response)) == ["SIM-TYPE"]
    assert sandbox.vouchers() == []


def test_closed_year_rejects_the_voucher(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    setup(api)
    sandbox.close_accounting_year("2026")
    errors = errors_of(post(api, "/journals/1/vouchers", voucher_body()))
    assert codes(errors["accountingYear"]) == ["SIM-CLOSED-YEAR"]
    entry = errors["entries"]["customerPayments"][0]
    assert codes(entry["date"]) == ["SIM-CLOSED-YEAR"]
    assert entry["date"]["errors"][0]["value"] == "2026-05-01"
    assert sandbox.vouchers() == []


def test_required_properties_and_text_length_come_from_the_spec(
    api: httpx.Client, sandbox: EconomicSandbox, spec_endpoints: list[dict[str, Any]]
) -> None:
    entry = spec_entry(spec_endpoints, "POST", VOUCHERS_SPEC)
    assert {
        "accountingYear",
        "entries.customerPayments.amount",
        "entries.customerPayments.date",
    } <= set(entry["required"])
    [text] = [p for p in entry["properties"] if p["Name"] == "entries.customerPayments.text"]
    limit = int(text["Max length"])
    setup(api)
    too_long = post(api, "/journals/1/vouchers", voucher_body(payment(text="x" * (limit + 1))))
    assert codes(entry_errors(too_long)["text"]) == ["SIM-MAXLENGTH"]
    assert sandbox.vouchers() == []
    create_voucher(api, voucher_body(payment(text="x" * limit)))


def test_voucher_rules_hold_without_the_journal_spec(
    server: tuple[str, _Switch], tmp_path: Path
) -> None:
    """A spec file without the journal endpoints: amount, date and accountingYear stay required."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"endpoints": []}))
    bare = EconomicSandbox(spec_path=spec)
    server[1].app = bare.app
    with httpx.Client(base_url=server[0], headers=AUTH) as client:
        setup(client)
        entry = _without(_without(payment(), "amount"), "date")
        body = voucher_body(entry, accountingYear="2026")
        errors = errors_of(post(client, "/journals/1/vouchers", body))
        assert codes(errors["accountingYear"]) == ["E04500"]  # not an object
        first = errors["entries"]["customerPayments"][0]
        assert codes(first["amount"]) == codes(first["date"]) == ["SIM-REQUIRED"]
        assert bare.vouchers() == []
        assert client.get(
            "/journals/1/vouchers", params={"filter": "voucherNumber$eq:1"}
        ).is_success


def test_voucher_rules_with_the_built_in_fallback_spec(
    server: tuple[str, _Switch], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_spec, "find_spec_path", lambda: None)
    fallback = EconomicSandbox()
    assert fallback.catalog.source == "built-in fallback"
    server[1].app = fallback.app
    with httpx.Client(base_url=server[0], headers=AUTH) as client:
        setup(client)
        too_long = post(client, "/journals/1/vouchers", voucher_body(payment(text="x" * 251)))
        assert codes(entry_errors(too_long)["text"]) == ["SIM-MAXLENGTH"]
        assert body_of(client.get("/journals", params={"filter": "name$eq:Kassekladde"}))[
            "collection"
        ]
        created = post(client, "/journals/1/vouchers", voucher_body())
        assert created.status_code == 201, created.text


# --- inspection, faults, listeners --------------------------------------------------------


def test_payments_for_invoice(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    setup(api)
    book_invoice(api, 10002, line(quantity="2", price="40.00"))  # 80.00 + 20.00 = 100.00
    create_voucher(api, voucher_body(payment(amount=Decimal("-100.00"))))
    create_voucher(
        api,
        voucher_body(
            payment(amount=Decimal("-25.00"), text="Rest of order 1001"),
            payment(amount=Decimal("-100.00"), customerInvoice=10002, text="Order 1002"),
        ),
    )
    on_account = _without(payment(amount=Decimal("-5.00")), "customerInvoice")
    create_voucher(api, voucher_body(on_account))

    first = sandbox.payments_for_invoice(10001)
    assert [(p["amount"], p["voucher"]["voucherNumber"]) for p in first] == [
        (Decimal("-100.00"), 1),
        (Decimal("-25.00"), 2),
    ]
    assert sum(p["amount"] for p in first) == Decimal("-125.00")  # settles 125.00
    assert [p["text"] for p in sandbox.payments_for_invoice(10002)] == ["Order 1002"]
    assert sandbox.payments_for_invoice(10003) == []
    first[0]["amount"] = Decimal(0)  # a copy
    assert sandbox.payments_for_invoice(10001)[0]["amount"] == Decimal("-100.00")
    assert [b["remainder"] for b in sandbox.booked_invoices()] == [
        Decimal("125.00"),
        Decimal("100.00"),
    ]


def test_faults_apply_to_voucher_routes(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    setup(api)
    sandbox.faults.fail_next("POST", "/journals/1/vouchers", "error500")
    assert post(api, "/journals/1/vouchers", voucher_body()).status_code == 500
    assert sandbox.vouchers() == []
    sandbox.faults.fail_next("POST", "/journals", "lost_response")
    assert post(api, "/journals/1/vouchers", voucher_body()).status_code == 500
    assert [v["voucherNumber"] for v in sandbox.vouchers()] == [1]  # written, answer lost
    sandbox.faults.fail_next("GET", "/journals-experimental", "rate_limit")
    limited = api.get("/journals-experimental/1/vouchers")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert [kind for kind, _, _ in sandbox.faults.injected] == [
        "error500",
        "lost_response",
        "rate_limit",
    ]


def test_listeners_see_voucher_requests(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    setup(api)
    seen: list[tuple[str, str, int, int]] = []
    sandbox.add_listener(lambda m, p, s: seen.append((m, p, s, len(sandbox.vouchers()))))
    create_voucher(api, voucher_body())
    assert api.get("/journals/1/vouchers/2026-1").status_code == 200
    assert seen == [
        ("POST", "/journals/1/vouchers", 201, 1),  # stored when the listener runs
        ("GET", "/journals/1/vouchers/2026-1", 200, 1),
    ]


def test_reset_clears_vouchers_and_keeps_added_product_groups(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    setup(api)
    sandbox.add_product_group(11, "Goods DE 19% (OSS)", Decimal(19))
    create_voucher(api, voucher_body())
    sandbox.reset()
    assert sandbox.vouchers() == []
    groups = body_of(api.get("/product-groups"))["collection"]
    assert [g["productGroupNumber"] for g in groups] == [1, 2, 3, 11]
    setup(api)
    assert create_voucher(api, voucher_body())["voucherNumber"] == 1


# --- product groups and VAT ---------------------------------------------------------------


def test_add_product_group_sets_the_line_vat(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    sandbox.add_product_group(11, "Goods DE 19% (OSS)", Decimal("19"))
    sandbox.add_product_group(12, "Reduced 7%", Decimal("7.00"))
    groups = body_of(api.get("/product-groups"))["collection"]
    assert [(g["productGroupNumber"], g["name"]) for g in groups][-2:] == [
        (11, "Goods DE 19% (OSS)"),
        (12, "Reduced 7%"),
    ]
    assert post(api, "/customers", customer_body()).status_code == 201
    for number, group in (("SKU-1", 1), ("OSS-DE", 11), ("BOOK", 12)):
        assert post(api, "/products", product_body(number, group)).status_code == 201
    lines = [
        line("OSS-DE", quantity="1", price="100.00"),  # 100.00 × 19 % = 19.00
        line("BOOK", quantity="3", price="33.33"),  # 99.99 × 7 % = 6.9993 -> 7.00
        line("SKU-1", quantity="1", price="10.00"),  # 10.00 × 25 % = 2.50
    ]
    draft = body_of(post(api, "/invoices/drafts", draft_body(lines, date="2026-04-01")))
    assert draft["netAmount"] == Decimal("209.99")  # 100.00 + 99.99 + 10.00
    assert draft["vatAmount"] == Decimal("28.50")  # 19.00 + 7.00 + 2.50
    assert draft["grossAmount"] == Decimal("238.49")
    booked = body_of(post(api, "/invoices/booked", {"draftInvoice": {"draftInvoiceNumber": 1}}))
    assert [(ln["vatRate"], ln["vatAmount"]) for ln in booked["lines"]] == [
        (Decimal("19"), Decimal("19.00")),
        (Decimal("7"), Decimal("7.00")),
        (Decimal("25"), Decimal("2.50")),
    ]
    assert booked["remainder"] == Decimal("238.49")


def test_added_group_has_no_vat_outside_the_domestic_zone(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    sandbox.add_product_group(11, "Goods DE 19% (OSS)", Decimal(19))
    assert post(api, "/customers", customer_body()).status_code == 201
    assert post(api, "/products", product_body("OSS-DE", 11)).status_code == 201
    body = draft_body([line("OSS-DE", quantity="1", price="100.00")], zone=2)
    draft = body_of(post(api, "/invoices/drafts", body))
    assert draft["vatAmount"] == Decimal("0.00")
    assert draft["grossAmount"] == Decimal("100.00")


def test_redefining_a_group_changes_its_rate(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    sandbox.add_product_group(1, "Goods 12%", Decimal(12))
    assert body_of(api.get("/product-groups/1"))["name"] == "Goods 12%"
    assert post(api, "/customers", customer_body()).status_code == 201
    assert post(api, "/products", product_body("SKU-1", 1)).status_code == 201
    body = draft_body([line(quantity="1", price="100.00")])
    assert body_of(post(api, "/invoices/drafts", body))["vatAmount"] == Decimal("12.00")


@pytest.mark.parametrize(
    ("number", "name", "rate"),
    [
        (0, "Zero", Decimal(19)),
        (11, "", Decimal(19)),
        (11, "Too high", Decimal(101)),
        (11, "Negative", Decimal(-1)),
        (11, "Three decimals", Decimal("12.345")),
        (11, "Not a number", Decimal("NaN")),
    ],
)
def test_add_product_group_rejects_bad_input(
    sandbox: EconomicSandbox, number: int, name: str, rate: Decimal
) -> None:
    with pytest.raises(ValueError):
        sandbox.add_product_group(number, name, rate)


# --- credit notes (§9) --------------------------------------------------------------------


def test_booked_credit_note_has_negative_amounts(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    assert post(api, "/customers", customer_body()).status_code == 201
    assert post(api, "/products", product_body("SKU-1", 1)).status_code == 201
    body = draft_body([line(quantity="-3", price="33.33")])
    assert post(api, "/invoices/drafts", body).status_code == 201
    response = post(api, "/invoices/booked", {"draftInvoice": {"draftInvoiceNumber": 1}})
    assert response.status_code == 201, response.text
    credit = body_of(response)
    [credit_line] = credit["lines"]
    assert credit_line["totalNetAmount"] == Decimal("-99.99")  # -3 × 33.33
    assert credit_line["vatRate"] == Decimal("25")
    assert credit_line["vatAmount"] == Decimal("-25.00")  # -24.9975, half-up away from zero
    assert credit["netAmount"] == Decimal("-99.99")
    assert credit["vatAmount"] == Decimal("-25.00")
    assert credit["grossAmount"] == Decimal("-124.99")
    assert credit["remainder"] == Decimal("-124.99")
    assert sandbox.booked_invoices()[0]["grossAmount"] == Decimal("-124.99")


def test_credit_note_on_an_added_group(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    sandbox.add_product_group(11, "Goods DE 19% (OSS)", Decimal(19))
    assert post(api, "/customers", customer_body()).status_code == 201
    assert post(api, "/products", product_body("OSS-DE", 11)).status_code == 201
    body = draft_body([line("OSS-DE", quantity="-3", price="33.33")])
    assert post(api, "/invoices/drafts", body).status_code == 201
    credit = body_of(post(api, "/invoices/booked", {"draftInvoice": {"draftInvoiceNumber": 1}}))
    assert credit["lines"][0]["vatAmount"] == Decimal("-19.00")  # -99.99 × 19 % = -18.9981
    assert credit["grossAmount"] == Decimal("-118.99")

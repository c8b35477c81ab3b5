"""The Tryton REST client without a server: Tryton's JSON, requests, errors in plain words."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from kobling.connectors.tryton.client import TrytonClient, b64, decode, encode, problem_of
from kobling.errors import PermanentError, TransientError

URL = "http://tryton.invalid:8000/shop/"
CLOSED = (
    'To continue, you must reopen the period "2025-12" of company "Nordisk Webshop ApS" '
    'for the date "12/15/2025".'
)


def unb64(text: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(text))


def client_answering(
    handler: Any, *, company: int | None = 1
) -> tuple[TrytonClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        result: httpx.Response = handler(request)
        return result

    client = TrytonClient(URL, "k3y", company=company, transport=httpx.MockTransport(record))
    return client, seen


def user_error(message: str, description: str = "") -> httpx.Response:
    body = {"status": 400, "message": message, "description": description}
    return httpx.Response(400, json=body)


def test_tryton_json_round_trip_keeps_decimals_and_dates_exact() -> None:
    value = {"price": Decimal("19.990"), "on": date(2026, 1, 31), "n": [1, "x", None, True]}
    encoded = encode(value)
    assert encoded["price"] == {"__class__": "Decimal", "decimal": "19.990"}
    assert encoded["on"] == {"__class__": "date", "year": 2026, "month": 1, "day": 31}
    assert decode(json.dumps(encoded)) == value
    stamp = datetime(2026, 11, 21, 12, 30, 5, 7)
    assert decode(json.dumps(encode(stamp))) == stamp
    # A plain JSON number is read as Decimal, never float.
    assert decode('{"a": 0.1}') == {"a": Decimal("0.1")}
    with pytest.raises(TypeError):
        encode({"price": 0.1})


def test_search_sends_domain_fields_limit_and_context() -> None:
    client, seen = client_answering(
        lambda _: httpx.Response(200, json=[{"id": 7, "__name__": "product.product"}])
    )
    found = client.search(
        "product.product",
        [("code", "=", "SKU-1"), ("list_price", ">", Decimal("1.5"))],
        fields=["code", "name"],
        limit=5,
        order=[("code", "ASC")],
        active_test=False,
    )
    assert found == [{"id": 7, "__name__": "product.product"}]
    (request,) = seen
    assert request.method == "GET"
    assert request.url.path == "/shop/rest/model/product.product"
    params = request.url.params
    assert unb64(params["d"]) == [
        ["code", "=", "SKU-1"],
        ["list_price", ">", {"__class__": "Decimal", "decimal": "1.5"}],
    ]
    assert params.get_list("f") == ["code", "name"]
    assert params["s"] == "5"
    assert unb64(params["o"]) == [["code", "ASC"]]
    assert request.headers["Authorization"] == "Bearer k3y"
    assert unb64(request.headers["X-Tryton-Context"]) == {"company": 1, "active_test": False}
    # A GET carries no body, so no JSON Content-Type (Tryton answers 400 to that).
    assert "content-type" not in request.headers


def test_create_and_call_send_tryton_json_with_the_json_content_type() -> None:
    client, seen = client_answering(
        lambda _: httpx.Response(200, json={"id": 3, "state": "posted"})
    )
    client.create("account.invoice", {"invoice_date": date(2026, 3, 1)}, fields=["number"])
    assert client.call("account.invoice", "post", 3) == {"id": 3, "state": "posted"}
    create, post = seen
    assert create.headers["content-type"] == "application/json"
    assert json.loads(create.content) == {
        "invoice_date": {"__class__": "date", "year": 2026, "month": 3, "day": 1}
    }
    assert create.url.params.get_list("f") == ["number"]
    assert (post.method, post.url.path) == ("POST", "/shop/rest/model/account.invoice/3/post")
    assert json.loads(post.content) == {}
    assert unb64(post.headers["X-Tryton-Context"]) == {"company": 1}


def test_a_closed_period_is_a_permanent_error_that_names_the_period() -> None:
    client, _ = client_answering(lambda _: user_error(CLOSED))
    with pytest.raises(PermanentError) as caught:
        client.call("account.invoice", "post", 9)
    error = caught.value
    assert error.code == "closed_period"
    assert error.reason == (
        'Tryton cannot book on 12/15/2025: the accounting period "2025-12" of '
        "Nordisk Webshop ApS is closed"
    )
    assert 'reopen period "2025-12"' in error.fix


@pytest.mark.parametrize(
    ("response", "code", "words"),
    [
        (httpx.Response(401, text="<p>Unauthorized</p>"), "key_rejected", "application key"),
        (httpx.Response(403, text="forbidden"), "forbidden", "not callable over REST"),
        (httpx.Response(404, text="nope"), "not_found", "database name in the URL"),
        (
            user_error(
                'To continue, you must create a period for the date "1/1/2030" and company "X ApS".'
            ),
            "missing_period",
            "no open period for 1/1/2030",
        ),
        (
            user_error('The invoice "[WEB-1]" does not have the default taxes for 1 u Mug.'),
            "tax_warning",
            "differ from the defaults",
        ),
        (
            user_error(
                'The value "DK VAT 25%" for field "Original Tax" in "1" of "Tax Rule '
                'Line" is not valid according to its domain.'
            ),
            "invalid_value",
            "'Original Tax'",
        ),
        (
            user_error('The invoices "(23)" have an invoice date in the future.'),
            "invoice_date_future",
            "lies in the future",
        ),
        (
            user_error(
                'To number the invoice "(24)", you must set an invoice date after "01/05/2026" '
                'because the sequence "Customer invoices 2026" has already been used for '
                'invoice "INV2026-00001".'
            ),
            "invoice_date_order",
            "numbers invoices in date order",
        ),
        (
            # account_invoice's msg_invoice_currency_exchange_credit_account_missing (pitfall 4)
            user_error(
                'To post invoice "INV2026-00003", you must define a currency exchange credit '
                'account for "Nordisk Webshop ApS".'
            ),
            "exchange_account",
            "no currency exchange credit account is set for Nordisk Webshop ApS",
        ),
        (
            user_error('The invoice "[WEB-9]" generates a payment date "11/01/2026" in the past.'),
            "payment_term_past",
            "payment term gives a date in the past",
        ),
        (user_error("Something else."), "rejected", "Tryton answered 400: Something else."),
    ],
)
def test_error_answers_are_explained(response: httpx.Response, code: str, words: str) -> None:
    response.request = httpx.Request("GET", URL + "rest/model/x")
    problem = problem_of(response)
    assert problem.code == code
    assert words in problem.reason


def test_an_internal_error_on_post_is_uncertain_and_transient() -> None:
    page = "<title>500</title><p>KeyError: &#39;nosuch&#39;</p>"
    client, seen = client_answering(lambda _: httpx.Response(500, text=page))
    with pytest.raises(TransientError) as caught:
        client.create("party.party", {"name": "X"})
    assert caught.value.uncertain  # the write may have happened: look it up before retrying
    assert "KeyError: 'nosuch'" in caught.value.reason
    assert caught.value.code == "500"
    assert len(seen) == 1  # a POST with an uncertain outcome is never retried blindly


def test_an_unreachable_server_says_where_and_how_to_start_it() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = TrytonClient(URL, "k", transport=httpx.MockTransport(refuse))
    client._http(None).sleep = lambda _: None  # no back-off waits in the test
    with pytest.raises(TransientError) as caught:
        client.search("party.party")
    assert caught.value.code == "connect"
    assert URL in caught.value.reason
    assert "kobling tryton serve" in caught.value.fix


def test_an_unknown_field_name_is_hinted() -> None:
    response = httpx.Response(500, text="<p>&#39;nosuch&#39;</p>")
    response.request = httpx.Request("GET", URL + "rest/model/party.party")
    assert "unknown field or model name" in problem_of(response).reason


def test_the_url_must_name_a_database() -> None:
    with pytest.raises(ValueError, match="database"):
        TrytonClient("http://127.0.0.1:8765/", "k")


def test_context_header_is_padded_base64url() -> None:
    # Tryton decodes it with urlsafe_b64decode, which needs the padding.
    assert b64({"company": 1}).endswith("=")

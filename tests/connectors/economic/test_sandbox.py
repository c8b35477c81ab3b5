"""The e-conomic simulator: behaviour a connector relies on, checked over real HTTP.

The sandbox runs under uvicorn in a background thread on 127.0.0.1 (as in the demo), and the
tests inspect its state from the test thread. Expected amounts are worked out by hand in each
test; required properties and max lengths are read from the spec file, not copied.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from kobling.connectors.economic import sandbox_spec
from kobling.connectors.economic.escaping import (
    escape_filter_value,
    escape_self_link_id,
    self_link_path_segment,
    unescape_self_link_id,
)
from kobling.connectors.economic.sandbox import EconomicSandbox, FaultInjector, round_half_up
from kobling.connectors.economic.sandbox_filters import (
    NULL,
    And,
    FilterError,
    Or,
    Predicate,
    Scalar,
    SortError,
    SortKey,
    compile_filter,
    matches,
    parse_filter,
    parse_sort,
    sort_documents,
    tokenize,
)
from kobling.connectors.economic.sandbox_spec import SpecCatalog, find_spec_path
from kobling.connectors.jsonutil import dumps, loads

AUTH = {
    "X-AppSecretToken": "sandbox-app-secret",
    "X-AgreementGrantToken": "sandbox-agreement-grant",
}
SPEC_RELATIVE = Path("reference/specs/e-conomic/restdocs-2019-endpoints.json")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


# --- serving ------------------------------------------------------------------------------


class _Switch:
    """One uvicorn server for the module; each test plugs its own fresh app in."""

    def __init__(self) -> None:
        self.app: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "no sandbox plugged in"
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, _Switch]]:
    switch = _Switch()
    # IPPROTO_TCP explicitly: with proto 0 asyncio does not set TCP_NODELAY on accepted
    # connections, and every response then waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(switch, lifespan="off", log_level="warning")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", switch
    uvicorn_server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def sandbox(server: tuple[str, _Switch]) -> EconomicSandbox:
    instance = EconomicSandbox()
    server[1].app = instance.app
    return instance


@pytest.fixture
def api(server: tuple[str, _Switch], sandbox: EconomicSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0], headers=AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def spec_endpoints(shared_dir: Path) -> list[dict[str, Any]]:
    """The raw spec file, read independently of the simulator's loader."""
    endpoints: list[dict[str, Any]] = json.loads((shared_dir / SPEC_RELATIVE).read_text())[
        "endpoints"
    ]
    return endpoints


def spec_entry(endpoints: list[dict[str, Any]], method: str, path: str) -> dict[str, Any]:
    return next(e for e in endpoints if e["method"] == method and e["path"].rstrip("/") == path)


# --- request helpers ----------------------------------------------------------------------


def post(api: httpx.Client, path: str, body: Any) -> httpx.Response:
    """POST with Decimals written as exact JSON numbers (as the real connector does)."""
    return api.post(path, content=dumps(body), headers={"Content-Type": "application/json"})


def put(api: httpx.Client, path: str, body: Any) -> httpx.Response:
    return api.put(path, content=dumps(body), headers={"Content-Type": "application/json"})


def body_of(response: httpx.Response) -> Any:
    return loads(response.content)


def customer_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Jens Hansen",
        "currency": "DKK",
        "customerGroup": {"customerGroupNumber": 1},
        "paymentTerms": {"paymentTermsNumber": 1},
        "vatZone": {"vatZoneNumber": 1},
        "email": "jens@example.dk",
    }
    body.update(overrides)
    return body


def product_body(number: str = "SKU-1", group: int = 1, **overrides: Any) -> dict[str, Any]:
    body = {
        "productNumber": number,
        "name": f"Product {number}",
        "productGroup": {"productGroupNumber": group},
        "salesPrice": Decimal("10.00"),
    }
    body.update(overrides)
    return body


def line(
    product: str = "SKU-1", quantity: str = "1", price: str = "10.00", **extra: Any
) -> dict[str, Any]:
    return {
        "product": {"productNumber": product},
        "description": f"Line for {product}",
        "quantity": Decimal(quantity),
        "unitNetPrice": Decimal(price),
        **extra,
    }


def draft_body(lines: list[dict[str, Any]], zone: int = 1, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "date": "2024-05-01",
        "currency": "DKK",
        "customer": {"customerNumber": 1},
        "layout": {"layoutNumber": 19},
        "paymentTerms": {"paymentTermsNumber": 1},
        "recipient": {"name": "Jens Hansen", "vatZone": {"vatZoneNumber": zone}},
        "references": {"other": "order-1001"},
        "lines": lines,
    }
    body.update(overrides)
    return body


def setup_master(api: httpx.Client, *products: tuple[str, int]) -> None:
    """Customer 1 and the given (productNumber, productGroup) products."""
    assert post(api, "/customers", customer_body()).status_code == 201
    for number, group in products or (("SKU-1", 1),):
        assert post(api, "/products", product_body(number, group)).status_code == 201


def errors_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = body_of(response)
    assert body["message"] == "Validation error."
    assert body["httpStatusCode"] == 400
    errors: dict[str, Any] = body["errors"]
    return errors


def codes(node: dict[str, Any]) -> list[str]:
    return [error["errorCode"] for error in node["errors"]]


# --- escaping (§1, §3) --------------------------------------------------------------------


def test_self_link_escaping_matches_the_documented_examples() -> None:
    assert escape_self_link_id("My Awesome_Product%") == "My_9_Awesome_8_Product_3_"
    assert (
        escape_self_link_id("My Awesome Product_Discount5%")
        == "My_9_Awesome_9_Product_8_Discount5_3_"
    )
    assert unescape_self_link_id("My_9_Awesome_8_Product_3_") == "My Awesome_Product%"


@pytest.mark.parametrize(
    ("char", "token"),
    [
        ("<", "_0_"),
        (">", "_1_"),
        ("*", "_2_"),
        ("%", "_3_"),
        (":", "_4_"),
        ("&", "_5_"),
        ("/", "_6_"),
        ("\\", "_7_"),
        ("_", "_8_"),
        (" ", "_9_"),
        ("?", "_10_"),
        (".", "_11_"),
        ("#", "_12_"),
        ("+", "_13_"),
    ],
)
def test_each_self_link_escape(char: str, token: str) -> None:
    assert escape_self_link_id(f"a{char}b") == f"a{token}b"
    assert unescape_self_link_id(f"a{token}b") == f"a{char}b"


@pytest.mark.parametrize(
    "product_number", ["_10_", ">0", "?0_", "a_1", "x.y/z:1", "100%+#&", "__", "SKU-42", ""]
)
def test_self_link_escaping_round_trips_tricky_ids(product_number: str) -> None:
    assert unescape_self_link_id(escape_self_link_id(product_number)) == product_number


def test_self_link_path_segment_percent_encodes_other_characters() -> None:
    assert self_link_path_segment("æble 1") == "%C3%A6ble_9_1"


def test_escape_filter_value_escapes_every_special_character() -> None:
    assert escape_filter_value("$()*,[]") == "$$$($)$*$,$[$]"
    assert escape_filter_value("Smith & Co (DK)") == "Smith & Co $(DK$)"
    assert escape_filter_value("plain") == "plain"


# --- filter parser (§3) -------------------------------------------------------------------


def test_tokenize_splits_predicates_parentheses_and_logic() -> None:
    tokens = tokenize("name$eq:Joe$and:(city$like:*port$or:age$lt:40)")
    assert tokens == [
        Predicate("name", "eq", Scalar(("Joe",))),
        "$and:",
        "(",
        Predicate("city", "like", Scalar(("", "port"))),
        "$or:",
        Predicate("age", "lt", Scalar(("40",))),
        ")",
    ]


def test_tokenize_reads_lists_escapes_and_null() -> None:
    assert tokenize("n$in:[1,2,$null:]") == [
        Predicate("n", "in", (Scalar(("1",)), Scalar(("2",)), NULL))
    ]
    assert tokenize("n$eq:a$$b$(c$)$,$*") == [Predicate("n", "eq", Scalar(("a$b(c),*",)))]
    assert tokenize("n$eq:$null:") == [Predicate("n", "eq", NULL)]


def test_and_binds_tighter_than_or() -> None:
    tree = parse_filter("a$eq:1$or:b$eq:2$and:c$eq:3")
    assert isinstance(tree, Or)
    assert tree.children[0] == Predicate("a", "eq", Scalar(("1",)))
    assert isinstance(tree.children[1], And)


FILTER_TYPES = {
    "customerNumber": "integer",
    "name": "string",
    "city": "string",
    "email": "string",
    "barred": "boolean",
    "balance": "number",
    "customer.customerNumber": "integer",
}
FILTER_DOCS: list[dict[str, Any]] = [
    {"customerNumber": 1, "name": "Joe", "city": "Newport", "email": "joe@x.dk",
     "balance": Decimal("10.50"), "customer": {"customerNumber": 7}},
    {"customerNumber": 2, "name": "Ann", "city": "Aarhus", "barred": True,
     "balance": Decimal("0.00")},
    {"customerNumber": 3, "name": "joey", "city": "Stockport", "email": "j@y.dk",
     "balance": Decimal("-5")},
    {"customerNumber": 10, "name": "Smith $ Co (DK), ltd", "city": "Get 5*off"},
    {"customerNumber": 11, "name": "Smith $ Co", "city": "Get 5 off"},
]  # fmt: skip


def run_filter(text: str) -> list[int]:
    condition = compile_filter(text, FILTER_TYPES, FILTER_TYPES.keys())
    return [d["customerNumber"] for d in FILTER_DOCS if matches(condition, d)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name$eq:joe", [1]),  # strings compare case-insensitively
        ("name$ne:Joe", [2, 3, 10, 11]),
        ("customerNumber$gt:2", [3, 10, 11]),
        ("customerNumber$gte:2", [2, 3, 10, 11]),
        ("customerNumber$lt:2", [1]),
        ("customerNumber$lte:2", [1, 2]),
        ("balance$lt:0", [3]),
        ("balance$eq:10.5", [1]),
        ("name$like:JO", [1, 3]),  # no wildcard: contains
        ("city$like:*port", [1, 3]),
        ("city$like:aar*", [2]),
        ("city$like:N*t", [1]),
        ("customerNumber$in:[1,3,99]", [1, 3]),
        ("customerNumber$nin:[1,3]", [2, 10, 11]),
        ("email$eq:$null:", [2, 10, 11]),
        ("email$ne:$null:", [1, 3]),
        ("barred$eq:true", [2]),
        ("barred$eq:false", [1, 3, 10, 11]),  # false booleans are omitted (§1)
        ("customer.customerNumber$eq:7", [1]),
        ("name$eq:Joe$and:(city$like:*port$or:customerNumber$lt:40)", [1]),
        ("(name$eq:Ann$or:name$eq:Joe)$and:customerNumber$gt:1", [2]),
        ("name$eq:Ann$or:name$eq:Joe$and:customerNumber$gt:1", [2]),
        ("name$eq:Smith $$ Co $(DK$)$, ltd", [10]),
        ("city$like:5$*off", [10]),  # an escaped star is a literal star
        ("city$like:*5*off", [10, 11]),
        ("city$like:5*off", []),  # with a wildcard the pattern is anchored
    ],
)
def test_filter_operators(text: str, expected: list[int]) -> None:
    assert run_filter(text) == expected


def test_filter_in_list_may_include_null() -> None:
    condition = compile_filter(
        "customer.customerNumber$in:[8,$null:]", FILTER_TYPES, FILTER_TYPES.keys()
    )
    assert [d["customerNumber"] for d in FILTER_DOCS if matches(condition, d)] == [2, 3, 10, 11]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "foo$eq:1",  # not filterable
        "name$xx:1",  # unknown operator
        "name$null:",  # undocumented operator form: $null: is a value
        "name$eq:a(b",  # unescaped parenthesis
        "name$eq:a$b",  # unescaped dollar
        "name$eq:a,b",  # unescaped comma
        "(name$eq:a",
        "name$eq:a)",
        "name$eq:a$and:",
        "name$in:[1,2]",  # $in on a string property
        "customerNumber$in:1",
        "customerNumber$in:[1,2",
        "customerNumber$gt:abc",
        "customerNumber$gt:$null:",
        "barred$eq:maybe",
        "barred$gt:true",
        "customerNumber$in:[" + ",".join(str(n) for n in range(201)) + "]",
    ],
)
def test_filter_errors(text: str) -> None:
    with pytest.raises(FilterError):
        compile_filter(text, FILTER_TYPES, FILTER_TYPES.keys())


def test_uncompiled_filter_cannot_be_evaluated() -> None:
    with pytest.raises(TypeError):
        matches(parse_filter("name$eq:Joe"), {"name": "Joe"})


# --- sorting (§3) -------------------------------------------------------------------------


def test_sort_parsing_and_order() -> None:
    keys = parse_sort("-name,~customerNumber", ["name", "customerNumber"])
    assert keys == [SortKey("name", descending=True), SortKey("customerNumber", alphabetical=True)]
    docs = [{"n": 9}, {"n": 10}, {"n": 1}]
    numeric = sort_documents(docs, [SortKey("n")], {"n": "integer"})
    alphabetical = sort_documents(docs, [SortKey("n", alphabetical=True)], {"n": "integer"})
    assert [d["n"] for d in numeric] == [1, 9, 10]
    assert [d["n"] for d in alphabetical] == [1, 10, 9]
    names = sort_documents([{"s": "b"}, {"s": "A"}, {}], [SortKey("s")], {"s": "string"})
    assert names == [{"s": "A"}, {"s": "b"}, {}]


@pytest.mark.parametrize("text", ["barred", "name,", "-", "na me"])
def test_sort_errors(text: str) -> None:
    with pytest.raises(SortError):
        parse_sort(text, ["name"])


def test_sort_over_http(api: httpx.Client) -> None:
    for name in ("Bo", "anna", "Carl"):
        assert post(api, "/customers", customer_body(name=name)).status_code == 201
    names = [
        c["name"] for c in body_of(api.get("/customers", params={"sort": "-name"}))["collection"]
    ]
    assert names == ["Carl", "Bo", "anna"]
    default = [c["customerNumber"] for c in body_of(api.get("/customers"))["collection"]]
    assert default == [1, 2, 3]
    # barred is filterable but not sortable on /customers (spec)
    refused = api.get("/customers", params={"sort": "barred"})
    assert refused.status_code == 400
    assert body_of(refused)["message"] == "Could not parse query string sort."


# --- filters over HTTP --------------------------------------------------------------------


def test_filter_over_http_with_escaped_reference(api: httpx.Client) -> None:
    setup_master(api)
    reference = "Order (1001), $5*"
    assert (
        post(
            api, "/invoices/drafts", draft_body([line()], references={"other": reference})
        ).status_code
        == 201
    )
    assert (
        post(
            api, "/invoices/drafts", draft_body([line()], references={"other": "Order 1002"})
        ).status_code
        == 201
    )
    found = api.get(
        "/invoices/drafts",
        params={"filter": f"references.other$eq:{escape_filter_value(reference.upper())}"},
    )
    assert found.status_code == 200
    assert [d["draftInvoiceNumber"] for d in body_of(found)["collection"]] == [1]
    assert body_of(found)["pagination"]["results"] == 1
    assert body_of(found)["pagination"]["resultsWithoutFilter"] == 2


def test_non_filterable_property_is_a_400(api: httpx.Client) -> None:
    response = api.get("/customers", params={"filter": "mobilePhone$eq:1234"})
    assert response.status_code == 400
    body = body_of(response)
    assert body["message"] == "Could not parse query string filter."
    assert "mobilePhone" in body["developerHint"]
    assert body["httpStatusCode"] == 400


def test_unescaped_filter_value_is_a_400(api: httpx.Client) -> None:
    response = api.get("/customers", params={"filter": "name$eq:Smith (DK)"})
    assert response.status_code == 400


# --- pagination (§3) ----------------------------------------------------------------------


def test_pagination_envelope(api: httpx.Client, server: tuple[str, _Switch]) -> None:
    for n in range(25):
        assert post(api, "/customers", customer_body(name=f"C{n}")).status_code == 201
    response = api.get("/customers", params={"skippages": 1, "pagesize": 10})
    body = body_of(response)
    assert [c["customerNumber"] for c in body["collection"]] == list(range(11, 21))
    base = server[0]
    assert body["pagination"] == {
        "maxPageSizeAllowed": 1000,
        "skipPages": 1,
        "pageSize": 10,
        "results": 25,
        "resultsWithoutFilter": 25,
        "firstPage": f"{base}/customers?skippages=0&pagesize=10",
        "previousPage": f"{base}/customers?skippages=0&pagesize=10",
        "nextPage": f"{base}/customers?skippages=2&pagesize=10",
        "lastPage": f"{base}/customers?skippages=2&pagesize=10",
    }
    assert body["self"] == f"{base}/customers?skippages=1&pagesize=10"
    assert body["collection"][0]["self"] == f"{base}/customers/11"

    last = body_of(api.get("/customers", params={"skippages": 2, "pagesize": 10}))
    assert len(last["collection"]) == 5
    assert "nextPage" not in last["pagination"]

    default = body_of(api.get("/customers"))
    assert default["pagination"]["pageSize"] == 20
    assert len(default["collection"]) == 20
    assert "previousPage" not in default["pagination"]


def test_pagination_links_keep_the_filter(api: httpx.Client) -> None:
    for n in range(3):
        assert post(api, "/customers", customer_body(name=f"Shop {n}")).status_code == 201
    body = body_of(api.get("/customers", params={"filter": "name$like:shop", "pagesize": 2}))
    assert body["pagination"]["results"] == 3
    next_page = body["pagination"]["nextPage"]
    assert "filter=name$like:shop" in next_page
    followed = body_of(api.get(next_page))
    assert [c["name"] for c in followed["collection"]] == ["Shop 2"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"pagesize": 1000}, 200),
        ({"pagesize": 1001}, 400),
        ({"pagesize": 0}, 400),
        ({"pagesize": "ten"}, 400),
        ({"skippages": -1}, 400),
        ({"skippages": 5}, 200),  # past the end: an empty page
    ],
)
def test_page_size_limits(api: httpx.Client, params: dict[str, Any], status: int) -> None:
    response = api.get("/vat-zones", params=params)
    assert response.status_code == status
    if status == 400:
        assert body_of(response)["httpStatusCode"] == 400


# --- authentication (§2) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {
            "X-AppSecretToken": "wrong-secret-123",
            "X-AgreementGrantToken": "sandbox-agreement-grant",
        },
        {"X-AppSecretToken": "sandbox-app-secret", "X-AgreementGrantToken": "wrong-grant-456"},
        {"X-AppSecretToken": "demo", "X-AgreementGrantToken": "demo"},
    ],
)
def test_bad_tokens_are_refused(
    server: tuple[str, _Switch], sandbox: EconomicSandbox, headers: dict[str, str]
) -> None:
    with httpx.Client(base_url=server[0], headers=headers) as client:
        listed = client.get("/customers")
        created = post(client, "/customers", customer_body())
    for response in (listed, created):
        assert response.status_code == 401
        assert body_of(response)["httpStatusCode"] == 401
        assert "wrong-secret-123" not in response.text
        assert "wrong-grant-456" not in response.text
    assert sandbox.customers() == []


def test_demo_query_string_is_not_supported(server: tuple[str, _Switch], sandbox: Any) -> None:
    response = httpx.get(f"{server[0]}/customers?demo=true")
    assert response.status_code == 401
    assert "demo" in body_of(response)["developerHint"]


# --- validation driven by the spec (§1, §11) ----------------------------------------------


@pytest.mark.parametrize(
    ("path", "spec_path"),
    [
        ("/customers", "/customers"),
        ("/products", "/products"),
        ("/invoices/drafts", "/invoices/drafts"),
    ],
)
def test_required_properties_come_from_the_spec(
    api: httpx.Client,
    sandbox: EconomicSandbox,
    spec_endpoints: list[dict[str, Any]],
    path: str,
    spec_path: str,
) -> None:
    required: list[str] = spec_entry(spec_endpoints, "POST", spec_path)["required"]
    assert required
    top = [name for name in required if "." not in name]
    errors = errors_of(post(api, path, {}))
    assert sorted(errors) == sorted(top)
    for name in top:
        assert codes(errors[name]) == ["SIM-REQUIRED"]

    nested = [name.split(".") for name in required if "." in name]
    if nested:  # "recipient.name": required inside recipient once recipient is given
        body: dict[str, Any] = {parent: {} for parent, _ in nested}
        errors = errors_of(post(api, path, body))
        for parent, child in nested:
            assert codes(errors[parent][child]) == ["SIM-REQUIRED"]
    assert sandbox.customers() == [] and sandbox.products() == []
    assert sandbox.draft_invoices() == []


def test_null_is_rejected_anywhere(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    errors = errors_of(post(api, "/customers", customer_body(email=None)))
    assert codes(errors["email"]) == ["SIM-NULL"]

    setup_master(api)
    bad_line = {**line(), "description": None}
    errors = errors_of(post(api, "/invoices/drafts", draft_body([line(), bad_line])))
    assert errors["lines"] == [
        {"arrayIndex": 1, "description": {"errors": errors["lines"][0]["description"]["errors"]}}
    ]
    assert codes(errors["lines"][0]["description"]) == ["SIM-NULL"]
    assert sandbox.draft_invoices() == []


def test_max_length_comes_from_the_spec(
    api: httpx.Client, sandbox: EconomicSandbox, spec_endpoints: list[dict[str, Any]]
) -> None:
    rows = spec_entry(spec_endpoints, "POST", "/products")["properties"]
    max_length = int(next(r for r in rows if r["Name"] == "productNumber")["Max length"])
    too_long = "P" * (max_length + 1)
    errors = errors_of(post(api, "/products", product_body(too_long)))
    assert codes(errors["productNumber"]) == ["SIM-MAXLENGTH"]
    assert errors["productNumber"]["errors"][0]["value"] == too_long
    assert post(api, "/products", product_body("P" * max_length)).status_code == 201
    assert [p["productNumber"] for p in sandbox.products()] == ["P" * max_length]


@pytest.mark.parametrize(
    ("overrides", "prop"),
    [
        ({"name": 5}, "name"),
        ({"customerNumber": "7"}, "customerNumber"),
        ({"customerNumber": True}, "customerNumber"),
        ({"barred": "yes"}, "barred"),
        ({"creditLimit": "100"}, "creditLimit"),
        ({"vatZone": 1}, "vatZone"),
    ],
)
def test_types_are_checked(api: httpx.Client, overrides: dict[str, Any], prop: str) -> None:
    errors = errors_of(post(api, "/customers", customer_body(**overrides)))
    assert codes(errors[prop]) == ["SIM-TYPE"]


def test_read_only_and_unknown_properties_are_ignored(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    created = post(api, "/customers", customer_body(balance=Decimal("999"), shoeSize=44))
    assert created.status_code == 201
    assert "balance" not in body_of(created) and "shoeSize" not in body_of(created)
    assert post(api, "/products", product_body()).status_code == 201
    body = draft_body(
        [line(quantity="2", price="5.00")],
        netAmount=Decimal("1000"),
        grossAmount=Decimal("0"),
    )
    draft = body_of(post(api, "/invoices/drafts", body))
    assert draft["netAmount"] == Decimal("10.00")  # 2 × 5.00, not the 1000 sent
    assert draft["grossAmount"] == Decimal("12.50")


def test_invalid_json_and_content_type(api: httpx.Client) -> None:
    broken = api.post("/customers", content=b"{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    nan = api.post(
        "/customers", content=b'{"creditLimit": NaN}', headers={"Content-Type": "application/json"}
    )
    assert nan.status_code == 400
    text = api.post("/customers", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415


# --- invoice line rules (§7, §11) ---------------------------------------------------------


def test_unit_net_price_with_more_than_two_decimals_is_E04740(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    setup_master(api)
    errors = errors_of(post(api, "/invoices/drafts", draft_body([line(price="10.123")])))
    error = errors["lines"][0]["unitNetPrice"]["errors"][0]
    assert error["errorCode"] == "E04740"
    assert error["value"] == Decimal("10.123")
    assert error["message"] == "unitNetPrice scale cannot be greater then two decimal places."
    # judged as written: e-conomic's decimals keep trailing zeros, so quantize to 0.01
    errors = errors_of(post(api, "/invoices/drafts", draft_body([line(price="10.100")])))
    assert codes(errors["lines"][0]["unitNetPrice"]) == ["E04740"]
    assert post(api, "/invoices/drafts", draft_body([line(price="10.10")])).status_code == 201


def test_line_rules_product_quantity_description(api: httpx.Client) -> None:
    setup_master(api)
    no_product = {"description": "Free text", "quantity": 1, "unitNetPrice": Decimal("1.00")}
    empty_product = {**line(), "product": {}}
    no_quantity = {k: v for k, v in line().items() if k != "quantity"}
    no_description = {k: v for k, v in line().items() if k != "description"}
    response = post(
        api,
        "/invoices/drafts",
        draft_body([no_product, empty_product, no_quantity, no_description]),
    )
    lines = errors_of(response)["lines"]
    assert [entry["arrayIndex"] for entry in lines] == [0, 1, 2, 3]
    assert codes(lines[0]["product"]) == ["E04500"]
    assert codes(lines[1]["product"]) == ["E04500"]
    assert codes(lines[2]["quantity"]) == ["E04730"]
    assert codes(lines[3]["description"]) == ["SIM-REQUIRED"]


def test_line_without_price_takes_the_products_sales_price(api: httpx.Client) -> None:
    setup_master(api)
    without_price = {k: v for k, v in line(quantity="3").items() if k != "unitNetPrice"}
    draft = body_of(post(api, "/invoices/drafts", draft_body([without_price])))
    assert draft["lines"][0]["unitNetPrice"] == Decimal("10.00")
    assert draft["netAmount"] == Decimal("30.00")  # 3 × 10.00


@pytest.mark.parametrize(
    ("overrides", "path", "message"),
    [
        ({"customer": {"customerNumber": 999}}, ["customer"], "customer does not exist."),
        ({"layout": {"layoutNumber": 5}}, ["layout"], "layout does not exist."),
        (
            {"paymentTerms": {"paymentTermsNumber": 9}},
            ["paymentTerms"],
            "paymentTerms does not exist.",
        ),
        ({"currency": "ZUL"}, ["currency"], "currency does not exist."),
        (
            {"recipient": {"name": "X", "vatZone": {"vatZoneNumber": 9}}},
            ["recipient", "vatZone"],
            "vatZone does not exist.",
        ),
    ],
)
def test_missing_references_on_a_draft_are_E06000(
    api: httpx.Client, overrides: dict[str, Any], path: list[str], message: str
) -> None:
    setup_master(api)
    node: Any = errors_of(post(api, "/invoices/drafts", draft_body([line()], **overrides)))
    for key in path:
        node = node[key]
    assert node["errors"][0]["errorCode"] == "E06000"
    assert node["errors"][0]["message"] == message


def test_missing_product_unit_and_groups_are_E06000(api: httpx.Client) -> None:
    setup_master(api)
    errors = errors_of(
        post(api, "/invoices/drafts", draft_body([line("NOPE", unit={"unitNumber": 4})]))
    )
    assert errors["lines"][0]["product"]["errors"][0]["message"] == "product does not exist."
    assert codes(errors["lines"][0]["unit"]) == ["E06000"]
    errors = errors_of(
        post(api, "/customers", customer_body(customerGroup={"customerGroupNumber": 9}))
    )
    assert errors["customerGroup"]["errors"][0]["message"] == "customerGroup does not exist."
    errors = errors_of(post(api, "/products", product_body("X", group=9)))
    assert errors["productGroup"]["errors"][0]["message"] == "productGroup does not exist."


def test_references_may_be_given_as_self_links(
    api: httpx.Client, sandbox: EconomicSandbox, server: tuple[str, _Switch]
) -> None:
    base = server[0]
    assert post(api, "/customers", customer_body()).status_code == 201
    assert post(api, "/products", product_body("My Awesome_Product%")).status_code == 201
    by_link = {
        **line("My Awesome_Product%"),
        "product": {"self": f"{base}/products/My_9_Awesome_8_Product_3_"},
    }
    body = draft_body([by_link], customer={"self": f"{base}/customers/1"})
    draft = body_of(post(api, "/invoices/drafts", body))
    assert draft["customer"] == {"customerNumber": 1, "self": f"{base}/customers/1"}
    assert draft["lines"][0]["product"]["productNumber"] == "My Awesome_Product%"
    assert sandbox.draft_invoices()[0]["customer"] == {"customerNumber": 1}


def test_barred_product_cannot_go_on_a_draft(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    setup_master(api)
    sandbox.set_product_barred("SKU-1")
    errors = errors_of(post(api, "/invoices/drafts", draft_body([line()])))
    error = errors["lines"][0]["product"]["errors"][0]
    assert error["errorCode"] == "SIM-BARRED"
    assert "barred" in error["message"]
    sandbox.set_product_barred("SKU-1", barred=False)
    assert post(api, "/invoices/drafts", draft_body([line()])).status_code == 201


# --- customers and products ---------------------------------------------------------------


def test_customer_numbers_are_assigned_and_unique(
    api: httpx.Client, sandbox: EconomicSandbox, server: tuple[str, _Switch]
) -> None:
    first = post(api, "/customers", customer_body())
    assert first.status_code == 201
    assert first.headers["Location"] == f"{server[0]}/customers/1"
    assert body_of(post(api, "/customers", customer_body()))["customerNumber"] == 2
    assert (
        body_of(post(api, "/customers", customer_body(customerNumber=100)))["customerNumber"] == 100
    )
    assert body_of(post(api, "/customers", customer_body()))["customerNumber"] == 101
    duplicate = errors_of(post(api, "/customers", customer_body(customerNumber=2)))
    assert codes(duplicate["customerNumber"]) == ["SIM-DUPLICATE"]
    assert [c["customerNumber"] for c in sandbox.customers()] == [1, 2, 100, 101]


def test_customer_get_and_put(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    assert post(api, "/customers", customer_body()).status_code == 201
    fetched = body_of(api.get("/customers/1"))
    fetched["name"] = "Jens Hansen ApS"
    fetched["barred"] = True
    updated = put(api, "/customers/1", fetched)  # a GET document can be PUT back as is
    assert updated.status_code == 200, updated.text
    assert body_of(updated)["name"] == "Jens Hansen ApS"
    assert sandbox.customers()[0]["barred"] is True
    assert api.get("/customers/2").status_code == 404
    assert put(api, "/customers/2", customer_body()).status_code == 404
    found = body_of(api.get("/customers", params={"filter": "barred$eq:true"}))
    assert [c["customerNumber"] for c in found["collection"]] == [1]


def test_product_self_links_are_escaped_and_decoded(
    api: httpx.Client, server: tuple[str, _Switch], sandbox: EconomicSandbox
) -> None:
    created = post(api, "/products", product_body("My Awesome_Product%"))
    expected = f"{server[0]}/products/My_9_Awesome_8_Product_3_"
    assert created.status_code == 201
    assert body_of(created)["self"] == expected
    assert created.headers["Location"] == expected
    fetched = api.get("/products/My_9_Awesome_8_Product_3_")
    assert fetched.status_code == 200
    assert body_of(fetched)["productNumber"] == "My Awesome_Product%"
    changed = put(
        api, "/products/My_9_Awesome_8_Product_3_", product_body("My Awesome_Product%", name="New")
    )
    assert changed.status_code == 200
    assert sandbox.products()[0]["name"] == "New"
    renamed = put(api, "/products/My_9_Awesome_8_Product_3_", product_body("Other"))
    assert codes(errors_of(renamed)["productNumber"]) == ["SIM-MISMATCH"]
    assert api.get("/products/My%20Awesome_Product%25").status_code == 404  # not escaped
    assert api.get("/products/My_9_Awesome_8_Product%25").status_code == 404  # half escaped


def test_duplicate_product_number(api: httpx.Client) -> None:
    assert post(api, "/products", product_body()).status_code == 201
    assert codes(errors_of(post(api, "/products", product_body()))["productNumber"]) == [
        "SIM-DUPLICATE"
    ]


# --- invoices: totals, booking, PDF (§7, §8, §9) ------------------------------------------


def test_draft_totals_are_computed_per_line(api: httpx.Client, server: tuple[str, _Switch]) -> None:
    setup_master(api, ("SKU-1", 1), ("SERVICE", 2))
    lines = [
        line("SKU-1", quantity="3", price="33.33"),  # 99.99 net, VAT 24.9975 -> 25.00
        line("SKU-1", quantity="2", price="10.00", discountPercentage=Decimal("12.5")),
        # 2 × 10.00 × 0.875 = 17.50 net, VAT 4.375 -> 4.38
        line("SERVICE", quantity="1", price="100.00"),  # 100.00 net, group without VAT
    ]
    response = post(api, "/invoices/drafts", draft_body(lines))
    assert response.status_code == 201
    draft = body_of(response)
    assert [ln["totalNetAmount"] for ln in draft["lines"]] == [
        Decimal("99.99"),
        Decimal("17.50"),
        Decimal("100.00"),
    ]
    assert draft["netAmount"] == Decimal("217.49")  # 99.99 + 17.50 + 100.00
    assert draft["vatAmount"] == Decimal("29.38")  # 25.00 + 4.38 + 0.00
    assert draft["grossAmount"] == Decimal("246.87")
    assert draft["pdf"] == {"download": f"{server[0]}/invoices/drafts/1/pdf"}
    assert draft["dueDate"] == "2024-05-09"  # net 8 days
    assert draft["paymentTerms"]["daysOfCredit"] == 8
    assert "vatRate" not in draft["lines"][0]  # only booked lines show VAT
    assert re.search(rb'"grossAmount":246\.87[,}]', response.content)  # a JSON number


@pytest.mark.parametrize("zone", [2, 3])
def test_no_vat_outside_the_domestic_zone(api: httpx.Client, zone: int) -> None:
    setup_master(api)
    draft = body_of(
        post(api, "/invoices/drafts", draft_body([line(quantity="3", price="33.33")], zone=zone))
    )
    assert draft["vatAmount"] == Decimal("0.00")
    assert draft["grossAmount"] == Decimal("99.99")


def test_credit_note_has_negative_amounts(api: httpx.Client) -> None:
    setup_master(api)
    draft = body_of(post(api, "/invoices/drafts", draft_body([line(quantity="-3", price="33.33")])))
    assert draft["netAmount"] == Decimal("-99.99")
    assert draft["vatAmount"] == Decimal("-25.00")  # -24.9975 rounds away from zero
    assert draft["grossAmount"] == Decimal("-124.99")


def test_foreign_currency_amounts_in_base_currency(api: httpx.Client) -> None:
    setup_master(api)
    body = draft_body(
        [line(quantity="1", price="100.00")], currency="EUR", exchangeRate=Decimal("745.00")
    )
    draft = body_of(post(api, "/invoices/drafts", body))
    assert draft["grossAmount"] == Decimal("125.00")
    assert draft["grossAmountInBaseCurrency"] == Decimal("931.25")  # 125.00 × 745 / 100


def test_booking_flow(
    api: httpx.Client, sandbox: EconomicSandbox, server: tuple[str, _Switch]
) -> None:
    setup_master(api)
    assert (
        post(api, "/invoices/drafts", draft_body([line(quantity="3", price="33.33")])).status_code
        == 201
    )
    booked_response = post(api, "/invoices/booked", {"draftInvoice": {"draftInvoiceNumber": 1}})
    assert booked_response.status_code == 201, booked_response.text
    booked = body_of(booked_response)
    assert booked_response.headers["Location"] == f"{server[0]}/invoices/booked/1"
    assert booked["bookedInvoiceNumber"] == 1
    assert "draftInvoiceNumber" not in booked
    assert booked["grossAmount"] == Decimal("124.99")
    assert booked["remainder"] == Decimal("124.99")
    assert booked["lines"][0]["vatRate"] == Decimal("25")
    assert booked["lines"][0]["vatAmount"] == Decimal("25.00")
    assert booked["pdf"] == {"download": f"{server[0]}/invoices/booked/1/pdf"}
    assert sandbox.draft_invoices() == []
    assert api.get("/invoices/drafts/1").status_code == 404
    assert body_of(api.get("/invoices/booked/1")) == booked

    found = body_of(
        api.get("/invoices/booked", params={"filter": "references.other$eq:order-1001"})
    )
    assert [b["bookedInvoiceNumber"] for b in found["collection"]] == [1]

    # booking by self link; numbers continue
    assert post(api, "/invoices/drafts", draft_body([line()])).status_code == 201
    second = post(
        api, "/invoices/booked", {"draftInvoice": {"self": f"{server[0]}/invoices/drafts/2"}}
    )
    assert body_of(second)["bookedInvoiceNumber"] == 2
    assert [b["bookedInvoiceNumber"] for b in sandbox.booked_invoices()] == [1, 2]


def test_booking_errors(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    setup_master(api)
    missing = errors_of(post(api, "/invoices/booked", {"draftInvoice": {"draftInvoiceNumber": 7}}))
    assert codes(missing["draftInvoice"]) == ["E06000"]
    assert codes(errors_of(post(api, "/invoices/booked", {}))["draftInvoice"]) == ["SIM-REQUIRED"]

    assert post(api, "/invoices/drafts", draft_body([line()])).status_code == 201
    assert (
        post(
            api,
            "/invoices/booked",
            {"draftInvoice": {"draftInvoiceNumber": 1}, "bookWithNumber": 50},
        ).status_code
        == 201
    )
    assert post(api, "/invoices/drafts", draft_body([line()])).status_code == 201
    taken = post(
        api, "/invoices/booked", {"draftInvoice": {"draftInvoiceNumber": 2}, "bookWithNumber": 50}
    )
    assert codes(errors_of(taken)["bookWithNumber"]) == ["SIM-DUPLICATE"]
    assert post(api, "/invoices/drafts", draft_body([])).status_code == 201
    empty = post(api, "/invoices/booked", {"draftInvoice": {"draftInvoiceNumber": 3}})
    assert codes(errors_of(empty)["lines"]) == ["SIM-NO-LINES"]
    assert [d["draftInvoiceNumber"] for d in sandbox.draft_invoices()] == [2, 3]


def test_barred_product_blocks_booking(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    setup_master(api)
    assert post(api, "/invoices/drafts", draft_body([line()])).status_code == 201
    sandbox.set_product_barred("SKU-1")
    errors = errors_of(post(api, "/invoices/booked", {"draftInvoice": {"draftInvoiceNumber": 1}}))
    assert codes(errors["lines"][0]["product"]) == ["SIM-BARRED"]
    assert sandbox.booked_invoices() == []
    assert len(sandbox.draft_invoices()) == 1


@pytest.mark.parametrize(
    ("invoice_date", "closed", "code"),
    [
        ("2024-05-01", "2024", "SIM-CLOSED-YEAR"),
        ("2030-01-01", None, "SIM-NO-ACCOUNTING-YEAR"),
        ("2023-12-31", None, "SIM-NO-ACCOUNTING-YEAR"),
    ],
)
def test_booking_needs_an_open_accounting_year(
    api: httpx.Client, sandbox: EconomicSandbox, invoice_date: str, closed: str | None, code: str
) -> None:
    setup_master(api)
    assert post(api, "/invoices/drafts", draft_body([line()], date=invoice_date)).status_code == 201
    if closed:
        sandbox.close_accounting_year(closed)
    response = post(api, "/invoices/booked", {"draftInvoice": {"draftInvoiceNumber": 1}})
    errors = errors_of(response)
    assert codes(errors["date"]) == [code]
    assert errors["date"]["errors"][0]["value"] == invoice_date
    assert sandbox.booked_invoices() == []
    if closed:
        years = body_of(api.get(f"/accounting-years/{closed}"))
        assert years["closed"] is True


def test_booked_invoice_pdf(api: httpx.Client) -> None:
    setup_master(api)
    assert (
        post(api, "/invoices/drafts", draft_body([line(quantity="3", price="33.33")])).status_code
        == 201
    )
    assert (
        post(api, "/invoices/booked", {"draftInvoice": {"draftInvoiceNumber": 1}}).status_code
        == 201
    )
    response = api.get("/invoices/booked/1/pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert b"(Invoice 1)" in pdf
    assert b"124.99 DKK" in pdf
    # the cross-reference table points at each object
    xref_at = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref_at:].startswith(b"xref")
    offsets = re.findall(rb"(\d{10}) 00000 n", pdf)
    for number, offset in enumerate(offsets, start=1):
        assert pdf[int(offset) :].startswith(b"%d 0 obj" % number)
    assert api.get("/invoices/booked/2/pdf").status_code == 404


def test_draft_delete_and_booking_instructions(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    setup_master(api)
    assert post(api, "/invoices/drafts", draft_body([line()])).status_code == 201
    deleted = api.delete("/invoices/drafts/1")
    assert deleted.status_code == 200
    assert body_of(deleted)["deletedCount"] == 1
    assert api.get("/invoices/drafts/1").status_code == 404
    created = body_of(post(api, "/invoices/drafts", draft_body([line()])))
    assert created["draftInvoiceNumber"] == 2  # numbers are not reused
    instructions = body_of(api.get(created["templates"]["bookingInstructions"]))
    booked = post(api, "/invoices/booked", {"draftInvoice": instructions["draftInvoice"]})
    assert booked.status_code == 201
    assert api.get("/invoices/drafts/2/pdf").status_code == 404


# --- master data, routing, JSON rules -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "id_key", "ids"),
    [
        ("/vat-zones", "vatZoneNumber", [1, 2, 3]),
        ("/payment-terms", "paymentTermsNumber", [1]),
        ("/layouts", "layoutNumber", [19]),
        ("/customer-groups", "customerGroupNumber", [1, 2]),
        ("/product-groups", "productGroupNumber", [1, 2, 3]),
        ("/units", "unitNumber", [1]),
        ("/currencies", "code", ["DKK", "EUR", "GBP", "NOK", "SEK", "USD"]),
        (
            "/accounting-years",
            "year",
            [str(y) for y in range(2024, max(2028, date.today().year + 2))],
        ),
    ],
)
def test_master_data_is_seeded(api: httpx.Client, path: str, id_key: str, ids: list[Any]) -> None:
    collection = body_of(api.get(path))["collection"]
    assert sorted(item[id_key] for item in collection) == ids
    item = body_of(api.get(f"{path}/{ids[-1]}"))
    assert item[id_key] == ids[-1]
    assert item["self"].endswith(f"{path}/{ids[-1]}")
    assert api.get(f"{path}/999").status_code == 404


def test_seeded_names(api: httpx.Client) -> None:
    zones = {z["vatZoneNumber"]: z for z in body_of(api.get("/vat-zones"))["collection"]}
    assert zones[1]["name"] == "Domestic" and zones[1]["enabledForCustomer"] is True
    terms = body_of(api.get("/payment-terms/1"))
    assert (terms["name"], terms["daysOfCredit"], terms["paymentTermsType"]) == (
        "Netto 8 dage",
        8,
        "net",
    )
    assert body_of(api.get("/layouts/19"))["name"] == "Standard"
    assert body_of(api.get("/units/1"))["name"] == "stk."
    assert body_of(api.get("/self"))["settings"]["baseCurrency"] == "DKK"


def test_unknown_route_is_404_and_wrong_method_is_405(api: httpx.Client) -> None:
    missing = api.get("/no-such-thing")
    assert missing.status_code == 404
    assert body_of(missing)["httpStatusCode"] == 404
    wrong = api.delete("/customers")
    assert wrong.status_code == 405
    assert set(wrong.headers["Allow"].split(", ")) == {"GET", "POST"}
    assert body_of(wrong)["httpStatusCode"] == 405
    assert api.get("/customers/").status_code == 200  # a trailing slash is accepted


def test_booleans_only_when_true_and_never_null(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    created = post(api, "/products", product_body(barred=False))
    assert b"barred" not in created.content
    assert b"null" not in created.content and b"false" not in created.content
    sandbox.set_product_barred("SKU-1")
    assert body_of(api.get("/products/SKU-1"))["barred"] is True
    zones = api.get("/vat-zones").content
    assert b"false" not in zones and b"null" not in zones


def test_mounted_under_a_prefix(server: tuple[str, _Switch], sandbox: EconomicSandbox) -> None:
    server[1].app = Starlette(routes=[Mount("/sandbox/economic", app=sandbox.app)])
    with httpx.Client(base_url=f"{server[0]}/sandbox/economic", headers=AUTH) as client:
        created = post(client, "/customers", customer_body())
        listed = body_of(client.get("/customers"))
    assert created.status_code == 201
    assert body_of(created)["self"] == f"{server[0]}/sandbox/economic/customers/1"
    assert listed["collection"][0]["vatZone"]["self"] == f"{server[0]}/sandbox/economic/vat-zones/1"
    assert listed["pagination"]["firstPage"].startswith(f"{server[0]}/sandbox/economic/customers?")
    assert sandbox.requests[-1] == ("GET", "/customers", 200)


# --- faults -------------------------------------------------------------------------------


def test_error500_writes_nothing(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    sandbox.faults.fail_next("POST", "/customers", "error500")
    failed = post(api, "/customers", customer_body())
    assert failed.status_code == 500
    assert body_of(failed)["httpStatusCode"] == 500
    assert sandbox.customers() == []
    assert sandbox.faults.injected == [("error500", "POST", "/customers")]
    assert post(api, "/customers", customer_body()).status_code == 201  # one shot only


def test_timeout_answers_504_late_and_writes_nothing(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    sandbox.faults.configure(rate=0.0, timeout_delay=0.3)
    sandbox.faults.fail_next("POST", "/customers", "timeout")
    started = time.monotonic()
    response = post(api, "/customers", customer_body())
    assert response.status_code == 504
    assert time.monotonic() - started >= 0.3
    assert sandbox.customers() == []


def test_timeout_seen_by_an_impatient_client(
    server: tuple[str, _Switch], sandbox: EconomicSandbox
) -> None:
    sandbox.faults.configure(rate=0.0, timeout_delay=0.5)
    sandbox.faults.fail_next("POST", "/customers", "timeout")
    with (
        httpx.Client(base_url=server[0], headers=AUTH, timeout=0.1) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        post(impatient, "/customers", customer_body())
    time.sleep(0.6)
    assert sandbox.customers() == []


def test_lost_response_writes_but_answers_500(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    sandbox.faults.fail_next("POST", "/customers", "lost_response")
    response = post(api, "/customers", customer_body(email="lost@example.dk"))
    assert response.status_code == 500
    assert "customerNumber" not in response.text
    assert [c["email"] for c in sandbox.customers()] == ["lost@example.dk"]
    found = body_of(api.get("/customers", params={"filter": "email$eq:lost@example.dk"}))
    assert [c["customerNumber"] for c in found["collection"]] == [1]
    assert sandbox.requests[0] == ("POST", "/customers", 500)


def test_rate_limit_answers_429_with_retry_after(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    sandbox.faults.configure(rate=0.0, retry_after=7)
    sandbox.faults.fail_next("post", "customers", "rate_limit")
    response = post(api, "/customers", customer_body())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert sandbox.customers() == []


def test_fail_next_counts_and_matches_method_and_prefix(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    sandbox.faults.fail_next("GET", "/invoices", "error500", count=2)
    assert api.get("/customers").status_code == 200  # other prefix
    assert post(api, "/invoices/drafts", {}).status_code == 400  # other method
    assert api.get("/invoices/drafts").status_code == 500
    assert api.get("/invoices/booked").status_code == 500
    assert api.get("/invoices/drafts").status_code == 200
    assert [kind for kind, _, _ in sandbox.faults.injected] == ["error500", "error500"]


def _statuses_under_random_faults(api: httpx.Client, sandbox: EconomicSandbox) -> list[int]:
    sandbox.faults.configure(rate=0.5, kinds=("error500", "rate_limit"), seed=42, methods=("GET",))
    statuses = [api.get("/vat-zones").status_code for _ in range(20)]
    assert post(api, "/customers", customer_body()).status_code == 201  # POST not selected
    return statuses


def test_random_faults_are_reproducible(api: httpx.Client, sandbox: EconomicSandbox) -> None:
    first = _statuses_under_random_faults(api, sandbox)
    assert set(first) == {200, 500, 429}
    assert len(sandbox.faults.injected) == sum(1 for s in first if s != 200)
    sandbox.reset()
    assert sandbox.faults.injected == [] and sandbox.requests == []
    assert _statuses_under_random_faults(api, sandbox) == first
    sandbox.faults.clear()
    assert all(api.get("/vat-zones").status_code == 200 for _ in range(10))


def test_fault_injector_rejects_bad_settings() -> None:
    faults = FaultInjector()
    with pytest.raises(ValueError):
        faults.configure(rate=1.5)
    with pytest.raises(ValueError):
        faults.configure(rate=0.1, kinds=("meteor",))
    with pytest.raises(ValueError):
        faults.fail_next("GET", "/", "meteor")
    with pytest.raises(ValueError):
        faults.fail_next("GET", "/", "error500", count=0)


def test_unauthorized_requests_are_not_faulted(
    server: tuple[str, _Switch], sandbox: EconomicSandbox
) -> None:
    sandbox.faults.fail_next("GET", "/", "error500")
    assert httpx.get(f"{server[0]}/customers").status_code == 401
    assert sandbox.faults.injected == []


# --- listener, log, inspection ------------------------------------------------------------


def test_listener_runs_after_the_write_before_the_response(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    seen: list[tuple[str, str, int, int]] = []

    def listener(method: str, path: str, status: int) -> None:
        seen.append((method, path, status, len(sandbox.customers())))

    sandbox.add_listener(listener)
    assert post(api, "/customers", customer_body()).status_code == 201
    assert api.get("/customers", params={"pagesize": 5}).status_code == 200
    assert seen == [
        ("POST", "/customers", 201, 1),  # the customer is stored when the listener runs
        ("GET", "/customers?pagesize=5", 200, 1),
    ]
    assert sandbox.requests == [(m, p, s) for m, p, s, _ in seen]


def test_a_failing_listener_does_not_break_the_api(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    def broken(method: str, path: str, status: int) -> None:
        raise RuntimeError("listener bug")

    sandbox.add_listener(broken)
    assert post(api, "/customers", customer_body()).status_code == 201


def test_inspection_returns_copies_and_reset_restores_the_seed(
    api: httpx.Client, sandbox: EconomicSandbox
) -> None:
    setup_master(api)
    assert post(api, "/invoices/drafts", draft_body([line()])).status_code == 201
    sandbox.customers()[0]["name"] = "changed"
    sandbox.draft_invoices()[0]["lines"].clear()
    assert sandbox.customers()[0]["name"] == "Jens Hansen"
    assert len(sandbox.draft_invoices()[0]["lines"]) == 1
    assert sandbox.draft_invoices()[0]["grossAmount"] == Decimal("12.50")  # 10.00 + 25 %
    sandbox.close_accounting_year("2025")
    sandbox.reset()
    assert sandbox.customers() == sandbox.products() == sandbox.draft_invoices() == []
    assert "closed" not in body_of(api.get("/accounting-years/2025"))
    assert body_of(post(api, "/customers", customer_body()))["customerNumber"] == 1


def test_round_half_up() -> None:
    assert round_half_up(Decimal("24.9975")) == Decimal("25.00")
    assert round_half_up(Decimal("4.375")) == Decimal("4.38")
    assert round_half_up(Decimal("-0.005")) == Decimal("-0.01")


# --- spec loading -------------------------------------------------------------------------


def test_spec_is_found_beside_the_checkout(shared_dir: Path) -> None:
    found = find_spec_path()
    assert found is not None
    assert found == (shared_dir / SPEC_RELATIVE).resolve()
    catalog = SpecCatalog.load()
    assert catalog.get("POST", "/invoices/booked").properties  # listed as /invoices/booked/
    assert "references.other" in catalog.get("GET", "/invoices/booked").filterable


def test_spec_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / SPEC_RELATIVE
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps({"endpoints": [
        {"method": "POST", "path": "/customers", "required": ["name"], "properties": [
            {"Name": "name", "Type": "string", "Max length": "3"}]}
    ]}))  # fmt: skip
    monkeypatch.setenv("KOBLING_SHARED_DIR", str(tmp_path))
    assert find_spec_path() == target.resolve()
    sandbox = EconomicSandbox(spec_path=target)
    assert sandbox.catalog.get("POST", "/customers").required == ("name",)


def test_explicit_spec_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        EconomicSandbox(spec_path=tmp_path / "missing.json")


def test_fallback_without_the_spec_file(
    server: tuple[str, _Switch], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_spec, "find_spec_path", lambda: None)
    fallback = EconomicSandbox()
    assert fallback.catalog.source == "built-in fallback"
    server[1].app = fallback.app
    with httpx.Client(base_url=server[0], headers=AUTH) as client:
        errors = errors_of(post(client, "/customers", {"name": "X"}))
        assert set(errors) == {"currency", "customerGroup", "paymentTerms", "vatZone"}
        setup_master(client)
        too_long = errors_of(post(client, "/products", product_body("P" * 26)))
        assert codes(too_long["productNumber"]) == ["SIM-MAXLENGTH"]
        assert (
            post(
                client, "/invoices/drafts", draft_body([line(quantity="3", price="33.33")])
            ).status_code
            == 201
        )
        booked = body_of(
            post(client, "/invoices/booked", {"draftInvoice": {"draftInvoiceNumber": 1}})
        )
        assert booked["grossAmount"] == Decimal("124.99")
        found = body_of(
            client.get("/invoices/booked", params={"filter": "references.other$eq:order-1001"})
        )
        assert len(found["collection"]) == 1
        assert client.get("/customers", params={"filter": "mobilePhone$eq:1"}).status_code == 400

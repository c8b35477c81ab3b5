"""The WooCommerce simulator over real HTTP: auth, parameters, filters, refunds, faults, webhooks.

The sandbox is served by uvicorn in a thread, mounted under a prefix as the platform mounts it,
and webhooks are delivered to a small ``http.server`` receiver on a loopback port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from kobling.connectors.woocommerce import sandbox_orders as so
from kobling.connectors.woocommerce.sandbox import WooCommerceSandbox
from kobling.web.server import serve_in_thread

KEY, SECRET = "ck_test_key", "cs_test_secret"
PREFIX = "/sandbox/woocommerce"
SITE_URL = "http://shop.test/sandbox/woocommerce/"
WEBHOOK_SECRET = "hook-secret&amp;more"  # stored HTML-escaped; signs with "hook-secret&more"
SUMMER = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)  # Copenhagen is UTC+2 (CEST)


class Clock:
    """A settable clock for the sandbox's ``date_modified`` and ``date_paid``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def is_ping(self) -> bool:
        return "x-wc-webhook-topic" not in self.headers

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook endpoint that records requests and answers with ``status``."""

    status: int = 200
    received: list[Received] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {key.lower(): value for key, value in self.headers.items()}
                with receiver.cond:
                    receiver.received.append(Received(self.path, headers, body))
                    receiver.cond.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/woo"

    def events(self) -> list[Received]:
        with self.cond:
            return [r for r in self.received if not r.is_ping]

    def pings(self) -> list[Received]:
        with self.cond:
            return [r for r in self.received if r.is_ping]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"only {len(self.received)} of {count} requests arrived"
                self.cond.wait(remaining)
            return list(self.received)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def clock() -> Clock:
    return Clock(SUMMER)


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[WooCommerceSandbox]:
    woo = WooCommerceSandbox(
        consumer_key=KEY, consumer_secret=SECRET, site_url=SITE_URL, seed=11, clock=clock
    )
    yield woo
    woo.close()


@pytest.fixture
def base_url(sandbox: WooCommerceSandbox) -> Iterator[str]:
    """The shop's URL: the sandbox mounted under a prefix, served on a loopback port."""
    server = serve_in_thread(Starlette(routes=[Mount(PREFIX, sandbox.app)]))
    yield f"{server.url}{PREFIX}"
    server.stop()


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{base_url}/wp-json/wc/v3/", auth=(KEY, SECRET)) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    hook.start()
    yield hook
    hook.stop()


def add(
    sandbox: WooCommerceSandbox,
    created: datetime,
    *,
    status: str = "processing",
    modified: datetime | None = None,
    deliver: bool = False,
) -> dict[str, Any]:
    """Insert one drawn order with chosen dates (the id comes from the sandbox)."""
    order = so.build_order(
        random.Random(created.timestamp()),
        order_id=0,
        created_gmt=created,
        status=status,
        country="DK",
        currency="DKK",
        payment_method="stripe",
    )
    moment = modified or created
    order["date_modified"], order["date_modified_gmt"] = so.wc_dates(moment)
    return sandbox.add_order(order, deliver_webhooks=deliver)


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [order["id"] for order in response.json()]


# --------------------------------------------------------------------------- auth (§2)


def test_basic_auth_and_query_string_keys_are_accepted(
    sandbox: WooCommerceSandbox, base_url: str
) -> None:
    add(sandbox, SUMMER)
    url = f"{base_url}/wp-json/wc/v3/orders"
    assert httpx.get(url, auth=(KEY, SECRET)).status_code == 200
    query = httpx.get(url, params={"consumer_key": KEY, "consumer_secret": SECRET})
    assert query.status_code == 200 and len(query.json()) == 1
    assert sandbox.requests[-1] == (
        "GET",
        f"/wp-json/wc/v3/orders?consumer_key={KEY}&consumer_secret={SECRET}",
        200,
    )


def test_wrong_credentials_get_woocommerce_401_bodies(base_url: str) -> None:
    url = f"{base_url}/wp-json/wc/v3/orders"
    wrong_key = httpx.get(url, auth=("ck_wrong", SECRET))
    assert wrong_key.status_code == 401
    assert wrong_key.json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": "Consumer key is invalid.",
        "data": {"status": 401},
    }
    query = httpx.get(url, params={"consumer_key": "ck_wrong", "consumer_secret": SECRET})
    assert query.status_code == 401
    assert query.json()["message"] == "Consumer key is invalid."
    wrong_secret = httpx.get(url, auth=(KEY, "cs_wrong"))
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["message"] == "Consumer secret is invalid."


def test_missing_credentials_fail_the_routes_permission_check(base_url: str) -> None:
    response = httpx.get(f"{base_url}/wp-json/wc/v3/orders")
    assert response.status_code == 401
    assert response.json() == {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }


# --------------------------------------------------------------------------- parameters (§3)


def test_per_page_101_is_rejected_as_wordpress_does(api: httpx.Client) -> None:
    response = api.get("orders", params={"per_page": 101})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == "Invalid parameter(s): per_page"
    assert body["data"]["status"] == 400
    message = "per_page must be between 1 (inclusive) and 100 (inclusive)"
    assert body["data"]["params"] == {"per_page": message}
    assert body["data"]["details"]["per_page"]["code"] == "rest_out_of_bounds"
    assert api.get("orders", params={"per_page": 0}).status_code == 400
    assert api.get("orders", params={"per_page": 100}).status_code == 200
    assert api.get("orders", params={"page": 0}).json()["data"]["params"] == {
        "page": "page must be greater than or equal to 1"
    }
    assert api.get("orders", params={"per_page": "ten"}).json()["data"]["params"] == {
        "per_page": "per_page is not of type integer."
    }


def test_pagination_headers_and_link_keep_query_and_mount_prefix(
    sandbox: WooCommerceSandbox, api: httpx.Client, base_url: str
) -> None:
    for hour in range(25):
        add(sandbox, SUMMER - timedelta(hours=hour))
    collection = f"{base_url}/wp-json/wc/v3/orders"

    def links(response: httpx.Response) -> dict[str | None, dict[str, list[str]]]:
        found: dict[str | None, dict[str, list[str]]] = {}
        for rel, link in response.links.items():
            parts = urlsplit(link["url"])
            assert f"{parts.scheme}://{parts.netloc}{parts.path}" == collection
            found[rel] = parse_qs(parts.query)
        return found

    first = api.get("orders", params={"per_page": 10, "status": "processing"})
    assert (first.headers["X-WP-Total"], first.headers["X-WP-TotalPages"]) == ("25", "3")
    assert len(first.json()) == 10
    assert set(links(first)) == {"next"}
    assert links(first)["next"] == {"per_page": ["10"], "status": ["processing"], "page": ["2"]}
    second = api.get("orders", params={"per_page": 10, "page": 2, "status": "processing"})
    assert {rel: q["page"] for rel, q in links(second).items()} == {"prev": ["1"], "next": ["3"]}
    third = api.get("orders", params={"per_page": 10, "page": 3})
    assert len(third.json()) == 5 and set(links(third)) == {"prev"}
    beyond = api.get("orders", params={"per_page": 10, "page": 7})
    assert beyond.status_code == 200 and beyond.json() == []
    assert beyond.headers["X-WP-Total"] == "25"
    assert links(beyond)["prev"]["page"] == ["3"]  # clamped to the last page
    everything = ids(first) + ids(second) + ids(third)
    assert len(set(everything)) == 25
    self_link = first.json()[0]["_links"]["self"][0]["href"]
    assert self_link == f"{collection}/{first.json()[0]['id']}"


def test_sample_top_level_keys_are_all_served(
    sandbox: WooCommerceSandbox, api: httpx.Client, shared_dir: Path
) -> None:
    sample = json.loads(
        (shared_dir / "reference/specs/woocommerce/sample-order-retrieve.json").read_text()
    )
    order_id = add(sandbox, SUMMER)["id"]
    served = api.get(f"orders/{order_id}").json()
    assert set(sample) <= set(served)
    assert set(sample["_links"]) <= set(served["_links"])
    assert api.get(f"orders/{order_id}", params={"_fields": "id,status"}).json() == {
        "id": order_id,
        "status": "processing",
    }


def test_responses_are_encoded_like_wp_json_encode(
    sandbox: WooCommerceSandbox, api: httpx.Client
) -> None:
    order_id = add(sandbox, SUMMER)["id"]
    api.put(f"orders/{order_id}", json={"billing": {"first_name": "Søren"}})
    response = api.get(f"orders/{order_id}")
    raw = response.content
    assert b'"href":"http:\\/\\/127.0.0.1' in raw
    assert b'"first_name":"S\\u00f8ren"' in raw
    assert response.json()["billing"]["first_name"] == "Søren"


# --------------------------------------------------------------------------- dates (§4)


def test_modified_after_is_exclusive_and_compares_gmt_columns_with_dates_are_gmt(
    sandbox: WooCommerceSandbox, api: httpx.Client
) -> None:
    created = SUMMER - timedelta(days=1)
    first = add(sandbox, created, modified=SUMMER)["id"]
    second = add(sandbox, created, modified=SUMMER + timedelta(hours=1))["id"]
    third = add(sandbox, created, modified=SUMMER + timedelta(hours=2))["id"]
    bound = so.format_wc_date(SUMMER + timedelta(hours=1))  # 2024-06-03T09:00:00

    def query(**params: str) -> set[int]:
        return set(ids(api.get("orders", params=params)))

    # GMT columns: second's modified_gmt equals the bound and is excluded (exclusive).
    assert query(modified_after=bound, dates_are_gmt="true") == {third}
    assert query(modified_before=bound, dates_are_gmt="true") == {first}
    # Site-local columns (default): the same string means 09:00 Copenhagen = 07:00 GMT.
    assert query(modified_after=bound) == {first, second, third}
    # An explicit offset is converted to the compared column's zone.
    assert query(modified_after=f"{bound}Z") == {third}
    assert query(modified_after=f"{bound}+00:00", dates_are_gmt="1") == {third}
    invalid = api.get("orders", params={"modified_after": "yesterday"})
    assert invalid.status_code == 400
    assert invalid.json()["data"]["params"] == {"modified_after": "Invalid date."}


def test_after_and_before_filter_created_dates_exclusively(
    sandbox: WooCommerceSandbox, api: httpx.Client
) -> None:
    early = add(sandbox, SUMMER - timedelta(hours=2))["id"]
    middle = add(sandbox, SUMMER - timedelta(hours=1))["id"]
    late = add(sandbox, SUMMER)["id"]
    middle_gmt = so.format_wc_date(SUMMER - timedelta(hours=1))
    assert set(ids(api.get("orders", params={"after": middle_gmt, "dates_are_gmt": "true"}))) == {
        late
    }
    assert set(ids(api.get("orders", params={"before": middle_gmt, "dates_are_gmt": "true"}))) == {
        early
    }
    middle_local = so.gmt_to_local(middle_gmt)
    both = {"after": so.gmt_to_local(so.format_wc_date(SUMMER - timedelta(hours=3)))}
    both["before"] = middle_local
    assert set(ids(api.get("orders", params=both))) == {early}
    assert middle not in ids(api.get("orders", params={"after": middle_local}))


# --------------------------------------------------------------------------- status, sort


def test_status_filters(sandbox: WooCommerceSandbox, api: httpx.Client) -> None:
    by_status = {
        status: add(sandbox, SUMMER - timedelta(hours=n), status=status)["id"]
        for n, status in enumerate(("processing", "completed", "pending", "failed", "on-hold"))
    }
    trashed = add(sandbox, SUMMER - timedelta(hours=9))["id"]
    assert api.delete(f"orders/{trashed}").json()["status"] == "trash"

    def query(params: list[tuple[str, str | int | float | bool | None]]) -> set[int]:
        return set(ids(api.get("orders", params=params)))

    assert query([("status", "processing,completed")]) == {
        by_status["processing"],
        by_status["completed"],
    }
    assert query([("status[]", "pending"), ("status[]", "failed")]) == {
        by_status["pending"],
        by_status["failed"],
    }
    assert query([]) == set(by_status.values())  # "any" leaves out the trash
    assert query([("status", "trash")]) == {trashed}
    invalid = api.get("orders", params={"status": "shipped"})
    assert invalid.status_code == 400 and invalid.json()["code"] == "rest_invalid_param"


def test_orderby_modified_ascending_breaks_ties_by_id(
    sandbox: WooCommerceSandbox, api: httpx.Client
) -> None:
    created = SUMMER - timedelta(days=2)
    a = add(sandbox, created, modified=SUMMER + timedelta(minutes=5))["id"]
    b = add(sandbox, created + timedelta(hours=1), modified=SUMMER)["id"]
    c = add(sandbox, created + timedelta(hours=2), modified=SUMMER)["id"]
    d = add(sandbox, created + timedelta(hours=3), modified=SUMMER - timedelta(minutes=5))["id"]
    ascending = ids(api.get("orders", params={"orderby": "modified", "order": "asc"}))
    assert ascending == [d, b, c, a]
    descending = ids(api.get("orders", params={"orderby": "modified"}))
    assert descending == [a, c, b, d]
    assert ids(api.get("orders")) == [d, c, b, a]  # default: date desc
    assert ids(api.get("orders", params={"orderby": "id", "order": "asc"})) == [a, b, c, d]
    assert api.get("orders", params={"order": "up"}).json()["data"]["params"] == {
        "order": "order is not one of asc and desc."
    }


# --------------------------------------------------------------------------- one order


def test_unknown_order_is_404_with_woocommerce_code(api: httpx.Client) -> None:
    response = api.get("orders/999999")
    assert response.status_code == 404
    assert response.json() == {
        "code": "woocommerce_rest_shop_order_invalid_id",
        "message": "Invalid ID.",
        "data": {"status": 404},
    }
    assert api.get("orders/not-a-number").json()["code"] == "rest_no_route"


def test_status_change_sets_paid_and_completed_dates_and_bumps_modified(
    sandbox: WooCommerceSandbox, api: httpx.Client, clock: Clock
) -> None:
    order = add(sandbox, SUMMER - timedelta(hours=3), status="pending")
    assert order["date_paid"] is None and order["needs_payment"] is True
    clock.advance(600)  # 08:10 GMT, 10:10 in Copenhagen
    updated = api.put(f"orders/{order['id']}", json={"status": "processing"}).json()
    assert updated["status"] == "processing"
    assert (updated["date_paid_gmt"], updated["date_paid"]) == (
        "2024-06-03T08:10:00",
        "2024-06-03T10:10:00",
    )
    assert updated["date_modified_gmt"] == "2024-06-03T08:10:00"
    assert updated["needs_payment"] is False
    clock.advance(3600)
    completed = sandbox.set_status(order["id"], "completed")
    assert completed["date_completed_gmt"] == "2024-06-03T09:10:00"
    assert completed["date_paid_gmt"] == "2024-06-03T08:10:00"  # not moved again
    assert completed["date_modified_gmt"] == "2024-06-03T09:10:00"
    rejected = api.put(f"orders/{order['id']}", json={"status": "shipped"})
    assert rejected.status_code == 400


def test_setting_status_refunded_creates_the_automatic_full_refund(
    sandbox: WooCommerceSandbox, api: httpx.Client
) -> None:
    order = add(sandbox, SUMMER - timedelta(days=1))
    refunded = sandbox.set_status(order["id"], "refunded")
    (summary,) = refunded["refunds"]
    assert summary["total"] == "-" + order["total"]
    (refund,) = api.get(f"orders/{order['id']}/refunds").json()
    assert refund["reason"].startswith("Order status set to refunded.")
    assert refund["amount"] == order["total"]
    assert len(refund["line_items"]) == len(order["line_items"])


# --------------------------------------------------------------------------- refunds (§5)


def test_refunds_over_rest_and_python(sandbox: WooCommerceSandbox, api: httpx.Client) -> None:
    order = add(sandbox, SUMMER - timedelta(days=1))
    total = Decimal(order["total"])
    first = sandbox.add_refund(order["id"], amount=Decimal("10"), reason="Late delivery")
    assert (first["amount"], first["line_items"], first["id"]) == ("10.00", [], order["id"] + 1)
    assert first["_links"]["up"][0]["href"].endswith(f"/orders/{order['id']}")
    created = api.post(
        f"orders/{order['id']}/refunds",
        json={"amount": "5.50", "reason": "Scratch", "api_refund": False},
    )
    assert created.status_code == 201
    assert (created.json()["amount"], created.json()["refunded_payment"]) == ("5.50", False)
    listed = api.get(f"orders/{order['id']}/refunds").json()
    assert [r["amount"] for r in listed] == ["5.50", "10.00"]  # newest first
    assert "parent_id" not in listed[0]
    everywhere = api.get("refunds").json()
    assert {(r["parent_id"], r["amount"]) for r in everywhere} == {
        (order["id"], "5.50"),
        (order["id"], "10.00"),
    }
    current = api.get(f"orders/{order['id']}").json()
    assert current["status"] == "processing"
    assert [r["total"] for r in current["refunds"]] == ["-5.50", "-10.00"]
    too_much = api.post(
        f"orders/{order['id']}/refunds", json={"amount": str(total), "api_refund": False}
    )
    assert too_much.status_code == 500
    assert too_much.json()["code"] == "woocommerce_rest_cannot_create_order_refund"
    rest = sandbox.add_refund(order["id"])
    assert Decimal(rest["amount"]) == total - Decimal("15.50")
    assert api.get(f"orders/{order['id']}").json()["status"] == "refunded"
    zero = api.post(f"orders/{order['id']}/refunds", json={"amount": "0"})
    assert zero.status_code == 400
    assert zero.json()["code"] == "woocommerce_rest_invalid_order_refund"


def test_api_refund_needs_a_gateway_that_can_refund(
    sandbox: WooCommerceSandbox, api: httpx.Client
) -> None:
    order = so.build_order(
        random.Random(3),
        order_id=0,
        created_gmt=SUMMER,
        status="processing",
        country="DK",
        currency="DKK",
        payment_method="bacs",
    )
    order_id = sandbox.add_order(order, deliver_webhooks=False)["id"]
    response = api.post(f"orders/{order_id}/refunds", json={"amount": "1.00"})
    assert response.status_code == 500
    assert response.json()["message"] == (
        "The payment gateway for this order does not support automatic refunds."
    )
    assert api.get(f"orders/{order_id}/refunds").json() == []


# --------------------------------------------------------------------------- products (§6)


def test_products_by_exact_sku_including_space_slash_and_variations(api: httpx.Client) -> None:
    (mug_set,) = api.get("products", params={"sku": "MUG SET/2"}).json()
    assert (mug_set["id"], mug_set["sku"], mug_set["price"]) == (103, "MUG SET/2", "142.36")
    (tee,) = api.get("products", params={"sku": "TEE-M-BLK"}).json()
    assert (tee["type"], tee["parent_id"]) == ("variation", 110)
    both = api.get("products", params={"sku": "MUG-BLUE,MUG-RED"}).json()
    assert {p["sku"] for p in both} == {"MUG-BLUE", "MUG-RED"}
    assert api.get("products", params={"sku": "MUG"}).json() == []
    listing = api.get("products", params={"per_page": 100}).json()
    assert "variation" not in {p["type"] for p in listing}


# --------------------------------------------------------------------------- webhooks (§7)


def test_webhook_crud_never_returns_the_secret(api: httpx.Client, receiver: Receiver) -> None:
    created = api.post(
        "webhooks",
        json={"name": "Kobling", "topic": "order.updated", "delivery_url": receiver.url,
              "secret": WEBHOOK_SECRET},
    )  # fmt: skip
    assert created.status_code == 201
    hook = created.json()
    assert "secret" not in hook
    assert (hook["status"], hook["resource"], hook["event"]) == ("active", "order", "updated")
    assert hook["date_created_gmt"] == "2024-06-03T08:00:00"
    assert hook["date_created"] == "2024-06-03T10:00:00"
    assert "secret" not in api.get(f"webhooks/{hook['id']}").json()
    assert [h["id"] for h in api.get("webhooks").json()] == [hook["id"]]
    paused = api.put(f"webhooks/{hook['id']}", json={"status": "paused"}).json()
    assert paused["status"] == "paused" and "secret" not in paused
    bad_topic = api.post("webhooks", json={"topic": "order.shipped", "delivery_url": receiver.url})
    assert bad_topic.status_code == 400
    assert bad_topic.json()["code"] == "woocommerce_rest_shop_webhook_invalid_topic"
    trash = api.delete(f"webhooks/{hook['id']}")
    assert trash.status_code == 501
    assert trash.json()["code"] == "woocommerce_rest_trash_not_supported"
    assert api.delete(f"webhooks/{hook['id']}", params={"force": "true"}).status_code == 200
    assert (
        api.get(f"webhooks/{hook['id']}").json()["code"]
        == "woocommerce_rest_shop_webhook_invalid_id"
    )


def _subscribe(api: httpx.Client, receiver: Receiver, topic: str) -> int:
    response = api.post(
        "webhooks", json={"topic": topic, "delivery_url": receiver.url, "secret": WEBHOOK_SECRET}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_creating_a_webhook_pings_with_a_form_body_and_no_signature(
    sandbox: WooCommerceSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    webhook_id = _subscribe(api, receiver, "order.created")
    (ping,) = receiver.wait_for(1)
    assert ping.body == f"webhook_id={webhook_id}".encode()
    assert ping.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "x-wc-webhook-signature" not in ping.headers
    sandbox.wait_for_deliveries()
    assert sandbox.webhooks_delivered[0]["topic"] == "ping"
    assert sandbox.webhooks_delivered[0]["status_code"] == 200


def test_order_deliveries_are_signed_and_shaped_like_woocommerce(
    sandbox: WooCommerceSandbox, api: httpx.Client, receiver: Receiver, clock: Clock
) -> None:
    created_hook = _subscribe(api, receiver, "order.created")
    updated_hook = _subscribe(api, receiver, "order.updated")
    receiver.wait_for(2)  # the two pings
    order = add(sandbox, SUMMER - timedelta(minutes=1), status="pending", deliver=True)
    sandbox.wait_for_deliveries()
    clock.advance(60)
    sandbox.set_status(order["id"], "processing")
    sandbox.wait_for_deliveries()
    created, updated = receiver.events()
    expected = ((created, created_hook, "created"), (updated, updated_hook, "updated"))
    for delivery, hook_id, event in expected:
        headers = delivery.headers
        assert delivery.path == "/hooks/woo"
        assert headers["content-type"] == "application/json"
        assert headers["x-wc-webhook-source"] == SITE_URL
        assert headers["x-wc-webhook-topic"] == f"order.{event}"
        assert headers["x-wc-webhook-resource"] == "order"
        assert headers["x-wc-webhook-event"] == event
        assert headers["x-wc-webhook-id"] == str(hook_id)
        assert len(headers["x-wc-webhook-delivery-id"]) == 32
        assert headers["user-agent"].startswith("WooCommerce/9.")
        assert "Hookshot (WordPress/6." in headers["user-agent"]
        # Signature computed independently, with the entity-decoded secret, over the raw bytes.
        digest = hmac.new(b"hook-secret&more", delivery.body, hashlib.sha256).digest()
        assert headers["x-wc-webhook-signature"] == base64.b64encode(digest).decode()
        assert b"\\/" in delivery.body and b'":"http://' not in delivery.body
        assert b": " not in delivery.body[:50]  # compact JSON
    assert created.json()["status"] == "pending"
    assert updated.json() == sandbox.order(order["id"])  # the state at delivery time
    assert updated.json()["_links"]["self"][0]["href"] == (
        f"{SITE_URL}wp-json/wc/v3/orders/{order['id']}"
    )
    outcomes = [d for d in sandbox.webhooks_delivered if d["topic"] != "ping"]
    assert [(d["topic"], d["order_id"], d["status_code"]) for d in outcomes] == [
        ("order.created", order["id"], 200),
        ("order.updated", order["id"], 200),
    ]
    assert outcomes[0]["delivery_id"] == created.headers["x-wc-webhook-delivery-id"]


def test_refund_fires_order_updated_and_delete_sends_only_the_id(
    sandbox: WooCommerceSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    _subscribe(api, receiver, "order.updated")
    _subscribe(api, receiver, "order.deleted")
    order = add(sandbox, SUMMER)
    sandbox.add_refund(order["id"], amount=Decimal("1.00"))
    sandbox.wait_for_deliveries()
    assert api.delete(f"orders/{order['id']}", params={"force": "true"}).status_code == 200
    sandbox.wait_for_deliveries()
    updated, deleted = receiver.events()
    assert updated.json()["refunds"][0]["total"] == "-1.00"
    assert deleted.headers["x-wc-webhook-topic"] == "order.deleted"
    assert deleted.body == f'{{"id":{order["id"]}}}'.encode()
    assert api.get(f"orders/{order['id']}").status_code == 404


def test_trash_and_restore_fire_deleted_and_restored(
    sandbox: WooCommerceSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    for topic in ("order.updated", "order.deleted", "order.restored"):
        _subscribe(api, receiver, topic)
    order_id = add(sandbox, SUMMER)["id"]
    sandbox.set_status(order_id, "trash")
    sandbox.wait_for_deliveries()
    sandbox.set_status(order_id, "processing")
    sandbox.wait_for_deliveries()
    topics = [event.headers["x-wc-webhook-topic"] for event in receiver.events()]
    assert topics == ["order.deleted", "order.restored"]
    assert receiver.events()[0].json() == {"id": order_id}
    assert receiver.events()[1].json()["status"] == "processing"


def test_generate_orders_can_deliver_order_created(
    sandbox: WooCommerceSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    _subscribe(api, receiver, "order.created")
    made = sandbox.generate_orders(
        6, start=SUMMER - timedelta(days=3), end=SUMMER, deliver_webhooks=True
    )
    sandbox.wait_for_deliveries()
    assert sorted(e.json()["id"] for e in receiver.events()) == [o["id"] for o in made]
    quiet = sandbox.generate_orders(3, start=SUMMER - timedelta(days=1), end=SUMMER)
    sandbox.wait_for_deliveries()
    assert len(receiver.events()) == 6 and len(quiet) == 3
    assert len(sandbox.orders()) == 9


def test_duplicate_fault_resends_the_same_body_and_delivery_id(
    sandbox: WooCommerceSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    _subscribe(api, receiver, "order.updated")
    order = add(sandbox, SUMMER)
    sandbox.faults.configure_webhooks(duplicate_rate=1.0)
    sandbox.deliver(order["id"])
    sandbox.wait_for_deliveries()
    first, second = receiver.events()
    assert first.body == second.body
    assert first.headers["x-wc-webhook-delivery-id"] == second.headers["x-wc-webhook-delivery-id"]
    assert first.headers["x-wc-webhook-signature"] == second.headers["x-wc-webhook-signature"]
    assert [d["duplicate"] for d in sandbox.webhooks_delivered if d["topic"] != "ping"] == [
        False,
        True,
    ]
    assert ("POST", receiver.url, "webhook_duplicate") in sandbox.faults.injected


def test_reorder_fault_delivers_out_of_order(
    sandbox: WooCommerceSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    _subscribe(api, receiver, "order.updated")
    receiver.wait_for(1)
    orders = [add(sandbox, SUMMER - timedelta(minutes=n))["id"] for n in range(8)]
    sandbox.faults.configure_webhooks(reorder=True, seed=3)
    for order_id in orders:
        sandbox.deliver(order_id)
    sandbox.wait_for_deliveries()
    arrived = [event.json()["id"] for event in receiver.events()]
    assert sorted(arrived) == sorted(orders)
    assert arrived != orders


def test_drop_fault_loses_deliveries_without_counting_failures(
    sandbox: WooCommerceSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    webhook_id = _subscribe(api, receiver, "order.updated")
    receiver.wait_for(1)
    order = add(sandbox, SUMMER)
    sandbox.faults.configure_webhooks(drop_rate=1.0)
    sandbox.deliver(order["id"])
    sandbox.wait_for_deliveries()
    assert receiver.events() == []
    assert sandbox.webhooks_delivered[-1]["error"].startswith("dropped")
    assert sandbox.webhook(webhook_id)["failure_count"] == 0


def test_webhook_is_disabled_on_the_seventh_consecutive_failure(
    sandbox: WooCommerceSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    receiver.status = 500
    webhook_id = _subscribe(api, receiver, "order.updated")
    order_id = add(sandbox, SUMMER)["id"]
    sandbox.wait_for_deliveries()  # the failed ping does not count
    for attempt in range(1, 7):
        sandbox.deliver(order_id)
        sandbox.wait_for_deliveries()
        assert sandbox.webhook(webhook_id)["failure_count"] == attempt
        assert sandbox.webhook(webhook_id)["status"] == "active"
    sandbox.deliver(order_id)
    sandbox.wait_for_deliveries()
    assert api.get(f"webhooks/{webhook_id}").json()["status"] == "disabled"
    assert len(receiver.events()) == 7
    assert [d["status_code"] for d in sandbox.webhooks_delivered[1:]] == [500] * 7
    sandbox.deliver(order_id)
    sandbox.wait_for_deliveries()
    assert len(receiver.events()) == 7  # no more deliveries, no retries
    receiver.status = 200
    api.put(f"webhooks/{webhook_id}", json={"status": "active"})
    sandbox.wait_for_deliveries()
    assert len(receiver.pings()) == 2 and sandbox.webhook(webhook_id)["failure_count"] == 0
    receiver.status = 302  # a redirect counts as success
    sandbox.deliver(order_id)
    sandbox.wait_for_deliveries()
    receiver.status = 404
    sandbox.deliver(order_id)
    sandbox.wait_for_deliveries()
    assert sandbox.webhook(webhook_id)["failure_count"] == 1
    receiver.status = 200
    sandbox.deliver(order_id)
    sandbox.wait_for_deliveries()
    assert sandbox.webhook(webhook_id)["failure_count"] == 0


def test_a_pending_delivery_absorbs_later_updates_and_carries_the_latest_state(
    sandbox: WooCommerceSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    _subscribe(api, receiver, "order.updated")
    receiver.wait_for(1)
    order_id = add(sandbox, SUMMER, status="pending")["id"]
    sandbox.faults.configure_webhooks(reorder=True, seed=0)  # first delay is 0.84 s
    sandbox.set_status(order_id, "processing")
    sandbox.set_status(order_id, "completed")
    sandbox.wait_for_deliveries()
    (delivery,) = receiver.events()
    assert delivery.json()["status"] == "completed"


def test_wait_for_deliveries_times_out_while_a_delivery_is_pending(
    sandbox: WooCommerceSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    _subscribe(api, receiver, "order.updated")
    order_id = add(sandbox, SUMMER)["id"]
    sandbox.wait_for_deliveries()
    sandbox.faults.configure_webhooks(reorder=True, seed=0)  # 0.84 s delay
    sandbox.deliver(order_id)
    with pytest.raises(TimeoutError):
        sandbox.wait_for_deliveries(timeout=0.1)
    sandbox.wait_for_deliveries()
    assert len(receiver.events()) == 1


# --------------------------------------------------------------------------- REST faults


def test_fail_next_and_random_faults(sandbox: WooCommerceSandbox, api: httpx.Client) -> None:
    sandbox.faults.fail_next("GET", "/orders", "error500", count=2)
    first, second, third = (api.get("orders") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (500, 500, 200)
    assert first.json()["code"] == "internal_server_error"
    sandbox.faults.configure(rate=1.0, kinds=["rate_limit"], retry_after=3)
    limited = api.get("orders")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    sandbox.faults.configure(rate=1.0, kinds=["error503"])
    assert api.get("products").status_code == 503
    assert sandbox.faults.injected == [
        ("GET", "/wp-json/wc/v3/orders", "error500"),
        ("GET", "/wp-json/wc/v3/orders", "error500"),
        ("GET", "/wp-json/wc/v3/orders", "rate_limit"),
        ("GET", "/wp-json/wc/v3/products", "error503"),
    ]
    sandbox.faults.configure(rate=0.5, kinds=["error500"], seed=1)
    statuses = {api.get("orders").status_code for _ in range(20)}
    assert statuses == {200, 500}
    sandbox.faults.clear()
    assert api.get("orders").status_code == 200 and sandbox.faults.injected == []
    assert [status for _, _, status in sandbox.requests[:3]] == [500, 500, 200]
    with pytest.raises(ValueError):
        sandbox.faults.configure(rate=0.1, kinds=["meteor"])


def test_lost_response_applies_the_write(sandbox: WooCommerceSandbox, api: httpx.Client) -> None:
    order_id = add(sandbox, SUMMER, status="on-hold")["id"]
    sandbox.faults.fail_next("PUT", "/wp-json/wc/v3/orders/", "lost_response")
    lost = api.put(f"orders/{order_id}", json={"status": "processing"})
    assert lost.status_code == 502
    assert sandbox.order(order_id)["status"] == "processing"


def test_timeout_fault_answers_late_and_still_applies_the_write(
    sandbox: WooCommerceSandbox, api: httpx.Client
) -> None:
    order_id = add(sandbox, SUMMER, status="on-hold")["id"]
    sandbox.faults.configure(rate=0.0, timeout_delay=0.5)
    sandbox.faults.fail_next("PUT", "/orders", "timeout")
    with pytest.raises(httpx.ReadTimeout):
        api.put(f"orders/{order_id}", json={"status": "processing"}, timeout=0.1)
    deadline = time.monotonic() + 5
    while sandbox.order(order_id)["status"] != "processing":
        assert time.monotonic() < deadline, "the slow write never happened"
        time.sleep(0.05)


def test_add_order_assigns_id_number_and_dates(sandbox: WooCommerceSandbox, clock: Clock) -> None:
    built = so.build_order(
        random.Random(9),
        order_id=0,
        created_gmt=SUMMER,
        status="processing",
        country="SE",
        currency="SEK",
    )
    for key in ("date_created", "date_created_gmt", "date_modified", "date_modified_gmt"):
        del built[key]
    first = sandbox.add_order(built, deliver_webhooks=False)
    assert (first["id"], first["number"]) == (1001, "1001")
    assert (first["date_created_gmt"], first["date_created"]) == (
        "2024-06-03T08:00:00",
        "2024-06-03T10:00:00",
    )
    assert first["line_items"][0]["id"] >= 100100
    second = sandbox.add_order(built, deliver_webhooks=False)
    assert second["id"] == 1002
    with pytest.raises(ValueError, match="already used"):
        sandbox.add_order(first, deliver_webhooks=False)
    assert [o["id"] for o in sandbox.orders()] == [1001, 1002]

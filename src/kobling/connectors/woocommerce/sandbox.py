"""A faithful WooCommerce REST API v3 simulator (ASGI), with orders, refunds and webhooks.

Built from the fact sheet ``reference/apis/woocommerce.md`` (cited as §n below) so that the
connector, the demo and the benchmarks can run against something that behaves like a real
shop where it matters: authentication and its error bodies, WordPress parameter validation,
pagination headers and ``Link``, exclusive date filters on site-local or GMT columns, order and
refund documents with self-consistent amounts, signed webhooks with WooCommerce's delivery
semantics, and injectable faults (500/503, slow answers, 429 with ``Retry-After``, a response
lost after the write succeeded; duplicated, reordered and dropped webhooks).

Deliberate simplifications: Basic auth and query-string keys are accepted over plain HTTP
(a real shop requires OAuth 1.0a there, §2); orders cannot be created over REST (only through
:meth:`WooCommerceSandbox.add_order`); a date filter value with a UTC offset is converted to the
compared column's zone (WordPress's legacy ``WP_Query`` converts it to site time even for the
``_gmt`` columns; connectors should send naive GMT strings with ``dates_are_gmt=true``).

State lives in memory behind one lock: the app may be served by uvicorn in another thread
while a test inspects or changes it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import hashlib
import json
import math
import random
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kobling.connectors.woocommerce import sandbox_orders as so
from kobling.connectors.woocommerce.sandbox_webhooks import (
    DeliveryWorker,
    Job,
    Prepared,
    Webhook,
    WebhookFaultDecision,
    prepare_event,
    prepare_ping,
    register_outcome,
    valid_topic,
    wp_json_encode,
)
from kobling.connectors.woocommerce.settings import ORDER_STATUSES

__all__ = ["FAULT_KINDS", "FaultInjector", "WooCommerceSandbox"]

Json = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]

REST_PREFIX = "/wp-json/wc/v3"
FAULT_KINDS = ("error500", "error503", "timeout", "rate_limit", "lost_response")
# The core order states (§4), shared with the connector's settings schema.
EDITABLE_STATUSES = ORDER_STATUSES
ORDER_STATUS_FILTERS = ("any", "trash", *ORDER_STATUSES, "checkout-draft")
WEBHOOK_STATUSES = ("active", "paused", "disabled")
REFUNDING_GATEWAYS = frozenset({"stripe", "paypal"})
"""Gateways that can refund through their API; bacs and cod cannot (``api_refund`` fails)."""

_CRITICAL_ERROR = (
    '<p>There has been a critical error on this website.</p><p><a href="https://wordpress.org/'
    'documentation/article/faq-troubleshooting/">Learn more about troubleshooting WordPress.'
    "</a></p>"
)
_DATE_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|z|[+-]\d{2}(:?\d{2})?)?$"
)


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """A WordPress REST error: ``{"code", "message", "data": {"status", ...}}`` (§9)."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.data = data

    def body(self) -> Json:
        return {
            "code": self.code,
            "message": self.message,
            "data": {"status": self.status, **self.data},
        }


def _invalid_param(name: str, message: str, detail_code: str) -> ApiError:
    """WordPress core's schema validation error (§3: per_page=101 → 400 rest_invalid_param)."""
    return ApiError(
        400,
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        params={name: message},
        details={name: {"code": detail_code, "message": message, "data": None}},
    )


def _wp_list(values: Sequence[str]) -> str:
    """``wp_sprintf('%l', ...)``: "a and b", "a, b, and c"."""
    if len(values) <= 2:
        return " and ".join(values)
    return ", ".join(values[:-1]) + ", and " + values[-1]


def _not_found(kind: str = "shop_order") -> ApiError:
    return ApiError(404, f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.")


# --------------------------------------------------------------------------- faults


@dataclass
class _PlannedFault:
    method: str
    prefix: str
    kind: str
    remaining: int


def _normalise_prefix(path_prefix: str) -> str:
    """Accept ``/orders`` as shorthand for ``/wp-json/wc/v3/orders``."""
    if not path_prefix.startswith("/"):
        path_prefix = "/" + path_prefix
    if path_prefix.startswith("/wp-json"):
        return path_prefix
    return REST_PREFIX + path_prefix


class FaultInjector:
    """Failures on demand, for the REST API and for webhook delivery.

    REST kinds: ``error500`` (WordPress critical error JSON), ``error503`` (host HTML page),
    ``rate_limit`` (429 with ``Retry-After``), ``timeout`` (answer only after
    ``timeout_delay`` seconds, *then* process the request, so a client that gave up does not
    know whether a write happened) and ``lost_response`` (the write is applied, the client gets
    a 502). ``fail_next`` rules are served first, in order; then ``rate`` draws at random.
    Every injected fault is logged in ``injected`` as (method, path or URL, kind).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.injected: list[tuple[str, str, str]] = []
        self._reset()

    def _reset(self) -> None:
        self._rate = 0.0
        self._kinds: tuple[str, ...] = ("error500", "timeout", "rate_limit")
        self._rng = random.Random(0)
        self.timeout_delay = 3.0
        self.retry_after = 1
        self._planned: list[_PlannedFault] = []
        self._duplicate_rate = 0.0
        self._reorder = False
        self._drop_rate = 0.0
        self._webhook_rng = random.Random(0)

    def configure(
        self,
        *,
        rate: float,
        kinds: Sequence[str] = ("error500", "timeout", "rate_limit"),
        seed: int = 0,
        timeout_delay: float = 3.0,
        retry_after: int = 1,
    ) -> None:
        """Fail a fraction ``rate`` of REST requests with a kind drawn from ``kinds``."""
        _check_rate(rate)
        _check_kinds(kinds)
        with self._lock:
            self._rate, self._kinds = rate, tuple(kinds)
            self._rng = random.Random(seed)
            self.timeout_delay, self.retry_after = timeout_delay, retry_after

    def fail_next(self, method: str, path_prefix: str, kind: str, count: int = 1) -> None:
        """Fail the next ``count`` requests whose method and path match."""
        _check_kinds((kind,))
        with self._lock:
            self._planned.append(
                _PlannedFault(method.upper(), _normalise_prefix(path_prefix), kind, count)
            )

    def configure_webhooks(
        self,
        *,
        duplicate_rate: float = 0.0,
        reorder: bool = False,
        drop_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        """Duplicate (same body and delivery id), reorder (delay up to ~1 s) or drop deliveries."""
        _check_rate(duplicate_rate)
        _check_rate(drop_rate)
        with self._lock:
            self._duplicate_rate, self._reorder, self._drop_rate = (
                duplicate_rate,
                reorder,
                drop_rate,
            )
            self._webhook_rng = random.Random(seed)

    def clear(self) -> None:
        """Back to a fault-free shop; also empties the ``injected`` log."""
        with self._lock:
            self._reset()
            self.injected.clear()

    def pick(self, method: str, path: str) -> str | None:
        """Decide the fault (if any) for one REST request and log it."""
        with self._lock:
            kind = self._take_planned(method, path)
            if kind is None and self._rate > 0 and self._rng.random() < self._rate:
                kind = self._rng.choice(self._kinds)
            if kind is not None:
                self.injected.append((method, path, kind))
            return kind

    def _take_planned(self, method: str, path: str) -> str | None:
        for rule in self._planned:
            if rule.method == method and path.startswith(rule.prefix):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._planned.remove(rule)
                return rule.kind
        return None

    def webhook_decision(self, url: str) -> WebhookFaultDecision:
        """Decide what the network does to one webhook delivery and log it."""
        with self._lock:
            rng = self._webhook_rng
            drop = self._drop_rate > 0 and rng.random() < self._drop_rate
            duplicate = (
                not drop and self._duplicate_rate > 0 and rng.random() < self._duplicate_rate
            )
            delay = rng.uniform(0.0, 1.0) if self._reorder else 0.0
            for flag, kind in ((drop, "webhook_drop"), (duplicate, "webhook_duplicate")):
                if flag:
                    self.injected.append(("POST", url, kind))
            if delay:
                self.injected.append(("POST", url, "webhook_delay"))
            return WebhookFaultDecision(delay=delay, drop=drop, duplicate=duplicate)


def _check_rate(rate: float) -> None:
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be between 0 and 1, got {rate}")


def _check_kinds(kinds: Iterable[str]) -> None:
    unknown = set(kinds) - set(FAULT_KINDS)
    if unknown:
        raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")


def _fault_response(kind: str, retry_after: int) -> Response:
    if kind == "error500":
        body = {
            "code": "internal_server_error",
            "message": _CRITICAL_ERROR,
            "data": {"status": 500},
        }
        return _json_response(body, 500)
    if kind == "rate_limit":
        html = (
            "<html><head><title>429 Too Many Requests</title></head><body>Slow down.</body></html>"
        )
        return Response(html, 429, {"Retry-After": str(retry_after)}, media_type="text/html")
    if kind == "error503":
        html = "<html><head><title>503 Service Unavailable</title></head><body></body></html>"
        return Response(html, 503, {"Retry-After": str(retry_after)}, media_type="text/html")
    html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    return Response(html, 502, media_type="text/html")


def _json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Serve JSON as WordPress does (``wp_json_encode``: ``\\/`` and ``\\uXXXX`` escapes)."""
    return Response(
        wp_json_encode(payload), status, headers, media_type="application/json; charset=UTF-8"
    )


# --------------------------------------------------------------------------- query parsing


def _int_param(
    params: QueryParams,
    name: str,
    default: int,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\s*-?\d+\s*", raw):
        raise _invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type")
    value = int(raw)
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        message = f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)"
        raise _invalid_param(name, message, "rest_out_of_bounds")
    if minimum is not None and value < minimum:
        message = f"{name} must be greater than or equal to {minimum}"
        raise _invalid_param(name, message, "rest_out_of_bounds")
    return value


def _list_param(params: QueryParams, name: str) -> list[str] | None:
    """``name=a,b``, ``name[]=a&name[]=b`` or ``name[0]=a`` (WordPress ``wp_parse_list``)."""
    pattern = re.compile(rf"{re.escape(name)}(\[\d*\])?")
    raw = [value for key, value in params.multi_items() if pattern.fullmatch(key)]
    if not raw:
        return None
    return [part for value in raw for part in re.split(r"[\s,]+", value) if part]


def _int_list_param(params: QueryParams, name: str) -> list[int] | None:
    values = _list_param(params, name)
    if values is None:
        return None
    for index, value in enumerate(values):
        if not value.isdigit():
            message = f"{name}[{index}] is not of type integer."
            raise _invalid_param(name, message, "rest_invalid_type")
    return [int(value) for value in values]


def _enum_param(params: QueryParams, name: str, allowed: Sequence[str], default: str) -> str:
    value = params.get(name) or default
    if value not in allowed:
        raise _invalid_param(name, f"{name} is not one of {_wp_list(allowed)}.", "rest_not_in_enum")
    return value


def _bool_param(params: QueryParams, name: str) -> bool:
    value = (params.get(name) or "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise _invalid_param(name, f"{name} is not of type boolean.", "rest_invalid_type")
    return value in ("true", "1")


def _date_param(params: QueryParams, name: str, gmt: bool) -> datetime | None:
    """An exclusive date bound as a naive datetime in the compared column's zone (§4)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not _DATE_RE.match(raw):
        raise _invalid_param(name, "Invalid date.", "rest_invalid_date")
    moment = datetime.fromisoformat(raw.replace("z", "Z").replace("t", "T"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC if gmt else so.SITE_TZ)
    return moment.replace(tzinfo=None)


def _status_filter(params: QueryParams) -> list[str]:
    statuses = _list_param(params, "status") or ["any"]
    for index, status in enumerate(statuses):
        if status not in ORDER_STATUS_FILTERS:
            message = f"status[{index}] is not one of {_wp_list(ORDER_STATUS_FILTERS)}."
            raise _invalid_param("status", message, "rest_not_in_enum")
    return statuses


def _fields(params: QueryParams) -> list[str] | None:
    value = params.get("_fields")
    return [field for field in re.split(r"[\s,]+", value) if field] if value else None


def _only_fields(document: Json, fields: list[str] | None) -> Json:
    """``_fields=a,b`` (WP core): keep the requested top-level keys."""
    if fields is None:
        return document
    return {key: value for key, value in document.items() if key in fields}


@dataclass(frozen=True)
class _Page:
    """Pagination of a collection request (§3)."""

    page: int
    per_page: int
    offset: int | None

    @classmethod
    def parse(cls, params: QueryParams) -> _Page:
        page = _int_param(params, "page", 1, minimum=1)
        per_page = _int_param(params, "per_page", 10, minimum=1, maximum=100)
        offset = _int_param(params, "offset", -1, minimum=0) if params.get("offset") else None
        return cls(page, per_page, offset)

    def slice(self, items: list[Json]) -> list[Json]:
        start = self.offset if self.offset is not None else (self.page - 1) * self.per_page
        return items[start : start + self.per_page]


def _collection_response(
    request: Request, page: _Page, items: list[Json], total: int, status: int = 200
) -> Response:
    """Body plus ``X-WP-Total``, ``X-WP-TotalPages`` and a ``Link`` with prev/next only (§3)."""
    max_pages = math.ceil(total / page.per_page)
    links: list[str] = []
    if page.page > 1:
        previous = min(page.page - 1, max_pages)
        links.append(f'<{request.url.include_query_params(page=previous)}>; rel="prev"')
    if max_pages > page.page:
        links.append(f'<{request.url.include_query_params(page=page.page + 1)}>; rel="next"')
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(max_pages)}
    if links:
        headers["Link"] = ", ".join(links)
    return _json_response(items, status, headers)


def _route_path(request: Request) -> str:
    """Path below the mount point (``root_path``), e.g. ``/wp-json/wc/v3/orders``."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _rest_base(request: Request) -> str:
    """Absolute ``.../wp-json/wc/v3/`` for links, honouring the mount prefix."""
    root = request.scope.get("root_path", "")
    return str(request.url.replace(path=f"{root}{REST_PREFIX}/", query=""))


async def _json_body(request: Request) -> Json:
    """Request parameters from a JSON or form body, as WordPress merges them."""
    raw = await request.body()
    if not raw.strip():
        return {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(
            400,
            "rest_invalid_json",
            "Invalid JSON body passed.",
            json_error_code=4,
            json_error_message="Syntax error",
        ) from None
    if not isinstance(body, dict):
        return {}
    return body


# --------------------------------------------------------------------------- the sandbox


@dataclass(frozen=True)
class _Permission:
    """The error WooCommerce gives an unauthenticated request to a route (§2)."""

    code: str
    message: str


_CAN_LIST = _Permission("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
_CAN_VIEW = _Permission("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
_CAN_EDIT = _Permission(
    "woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."
)
_CAN_CREATE = _Permission(
    "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."
)
_CAN_DELETE = _Permission(
    "woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."
)


class WooCommerceSandbox:
    """An in-memory WooCommerce shop with a REST API (``app``) and webhook delivery.

    Python methods change the shop as the shop owner or a customer would (new orders, status
    changes, refunds) and fire the same webhooks WooCommerce fires.
    """

    def __init__(
        self,
        *,
        consumer_key: str = "ck_sandbox",
        consumer_secret: str = "cs_sandbox",  # noqa: S107 - the sandbox's well-known demo key
        site_url: str = "http://127.0.0.1/sandbox/woocommerce/",
        seed: int = 7,
        clock: Callable[[], datetime] | None = None,
        first_id: int = so.FIRST_ORDER_ID,
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.site_url = site_url if site_url.endswith("/") else site_url + "/"
        self.faults = FaultInjector()
        self.webhooks_delivered: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, int]] = []
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._salt = random.Random(seed ^ 0x5A17).randbytes(16)
        self._orders: dict[int, Json] = {}
        self._refunds: dict[int, Json] = {}
        self._refund_parent: dict[int, int] = {}
        self._webhooks: dict[int, Webhook] = {}
        # A restarted sandbox starts after the ids Kobling has already seen, as a real shop
        # never reuses an order id.
        self._next_id = first_id
        self._next_webhook_id = 1
        self._worker = DeliveryWorker(self, self.faults.webhook_decision)
        self.app = Starlette(routes=self._routes())

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Stop the delivery thread (idempotent)."""
        self._worker.close()

    def __enter__(self) -> WooCommerceSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_for_deliveries(self, timeout: float = 10.0) -> None:
        """Block until the delivery queue is empty (raises TimeoutError after ``timeout``)."""
        self._worker.wait_idle(timeout)

    # ----------------------------------------------------------------- orders (Python API)

    def generate_orders(
        self,
        n: int,
        *,
        start: datetime,
        end: datetime | None = None,
        statuses: Mapping[str, float] | None = None,
        deliver_webhooks: bool = False,
    ) -> list[dict[str, Any]]:
        """Add ``n`` realistic orders created between ``start`` and ``end`` (default now)."""
        with self._lock:
            documents = so.generate(
                self._rng,
                n,
                start,
                end or self._now(),
                statuses,
                first_id=self._next_id,
                site_url=self.site_url,
            )
            return [self._insert(document, deliver_webhooks) for document in documents]

    def add_order(self, order: dict[str, Any], *, deliver_webhooks: bool = True) -> dict[str, Any]:
        """Insert an order document (e.g. from ``sandbox_orders.build_order``).

        Missing ``id``/``number``/dates are assigned; refunds in its summary get records.
        Fires ``order.created``.
        """
        document = copy.deepcopy(order)
        with self._lock:
            if not document.get("id"):
                document["id"] = self._next_id
                document["number"] = str(document["id"])
                _renumber_items(document)
            document["number"] = document.get("number") or str(document["id"])
            self._fill_dates(document)
            return self._insert(document, deliver_webhooks)

    def set_status(self, order_id: int, status: str) -> dict[str, Any]:
        """Change an order's status as the shop owner would; fires ``order.updated``.

        Moving to ``trash`` fires ``order.deleted`` instead, and leaving it ``order.restored``.
        """
        with self._lock:
            previous = self._order_doc(order_id)["status"]
            if self._change_status(self._order_doc(order_id), status):
                self._fire(_status_topic(previous, status), order_id)
            return self._order_json(order_id, self._site_rest_base())

    def add_refund(
        self, order_id: int, *, amount: Decimal | None = None, reason: str = ""
    ) -> dict[str, Any]:
        """Record a refund (full when ``amount`` is None); fires ``order.updated``.

        Raises :class:`sandbox_orders.RefundError` for an amount WooCommerce would refuse.
        """
        with self._lock:
            refund = self._create_refund(order_id, amount, reason, refunded_payment=False)
            self._fire("order.updated", order_id)
            return self._refund_json(refund["id"], self._site_rest_base())

    def order(self, order_id: int) -> dict[str, Any]:
        """The order as ``GET /orders/{id}`` returns it (links under ``site_url``)."""
        with self._lock:
            return self._order_json(order_id, self._site_rest_base())

    def orders(self) -> list[dict[str, Any]]:
        """All orders (including trashed ones), by id."""
        with self._lock:
            base = self._site_rest_base()
            return [self._order_json(order_id, base) for order_id in sorted(self._orders)]

    def refunds(self, order_id: int | None = None) -> list[dict[str, Any]]:
        """Refund records, newest first, optionally of one order."""
        with self._lock:
            base = self._site_rest_base()
            ids = sorted(self._refunds, reverse=True)
            return [
                self._refund_json(rid, base)
                for rid in ids
                if order_id is None or self._refund_parent[rid] == order_id
            ]

    def deliver(self, order_id: int, topic: str = "order.updated") -> None:
        """Queue a delivery of ``topic`` for the order to every active webhook of that topic."""
        with self._lock:
            self._order_doc(order_id)
            self._fire(topic, order_id)

    # ----------------------------------------------------------------- webhooks (Python API)

    def create_webhook(
        self,
        *,
        topic: str,
        delivery_url: str,
        secret: str,
        name: str = "",
        status: str = "active",
    ) -> dict[str, Any]:
        """Subscribe like ``POST /webhooks`` (sends the ping when active)."""
        with self._lock:
            body = {
                "topic": topic,
                "delivery_url": delivery_url,
                "secret": secret,
                "status": status,
            }
            if name:
                body["name"] = name
            webhook = self._new_webhook(body)
            return webhook.to_json(self._site_rest_base())

    def webhook(self, webhook_id: int) -> dict[str, Any]:
        """The webhook's REST representation plus its internal ``failure_count``."""
        with self._lock:
            webhook = self._webhook_obj(webhook_id)
            return {
                **webhook.to_json(self._site_rest_base()),
                "failure_count": webhook.failure_count,
            }

    # ----------------------------------------------------------------- state helpers

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC).replace(microsecond=0)

    def _site_rest_base(self) -> str:
        return f"{self.site_url}wp-json/wc/v3/"

    def _take_id(self) -> int:
        """Orders and refunds share one id sequence (WordPress post ids)."""
        new_id = self._next_id
        self._next_id += 1
        return new_id

    def _fill_dates(self, document: Json) -> None:
        now = self._now()
        if not document.get("date_created_gmt"):
            document["date_created"], document["date_created_gmt"] = so.wc_dates(now)
        created_gmt = document["date_created_gmt"]
        document["date_created"] = document.get("date_created") or so.gmt_to_local(created_gmt)
        if not document.get("date_modified_gmt"):
            document["date_modified_gmt"] = created_gmt
        document["date_modified"] = so.gmt_to_local(document["date_modified_gmt"])

    def _insert(self, document: Json, deliver_webhooks: bool) -> Json:
        order_id = int(document["id"])
        if order_id in self._orders or order_id in self._refunds:
            raise ValueError(f"id {order_id} is already used")
        self._orders[order_id] = document
        self._next_id = max(self._next_id, order_id + 1)
        for refund in so.rebuild_refunds(document):
            self._refunds[refund["id"]] = refund
            self._refund_parent[refund["id"]] = order_id
            self._next_id = max(self._next_id, refund["id"] + 1)
        if deliver_webhooks:
            self._fire("order.created", order_id)
        return self._order_json(order_id, self._site_rest_base())

    def _order_doc(self, order_id: int) -> Json:
        try:
            return self._orders[order_id]
        except KeyError:
            raise KeyError(f"no order {order_id}") from None

    def _order_json(self, order_id: int, rest_base: str) -> Json:
        """The REST representation: the stored document plus ``_links``."""
        document = copy.deepcopy(self._order_doc(order_id))
        links: Json = {
            "self": [{"href": f"{rest_base}orders/{order_id}"}],
            "collection": [{"href": f"{rest_base}orders"}],
        }
        if document.get("customer_id"):
            links["customer"] = [{"href": f"{rest_base}customers/{document['customer_id']}"}]
        document["_links"] = links
        return document

    def _refund_json(self, refund_id: int, rest_base: str, *, with_parent: bool = False) -> Json:
        document = copy.deepcopy(self._refunds[refund_id])
        parent = self._refund_parent[refund_id]
        if with_parent:
            document["parent_id"] = parent
        document["_links"] = {
            "self": [{"href": f"{rest_base}orders/{parent}/refunds/{refund_id}"}],
            "collection": [{"href": f"{rest_base}orders/{parent}/refunds"}],
            "up": [{"href": f"{rest_base}orders/{parent}"}],
        }
        return document

    def _touch(self, document: Json) -> None:
        document["date_modified"], document["date_modified_gmt"] = so.wc_dates(self._now())

    def _change_status(self, document: Json, status: str) -> bool:
        """Apply a status change with WooCommerce's side effects; False if nothing changed.

        Paid and completed dates are set on the first move to processing/completed; moving to
        ``refunded`` refunds whatever remains (``wc_order_fully_refunded``).
        """
        if status not in (*EDITABLE_STATUSES, "trash"):
            raise ValueError(f"unknown order status {status!r}")
        if document["status"] == status:
            return False
        now_local, now_gmt = so.wc_dates(self._now())
        document["status"] = status
        self._touch(document)
        if status in ("processing", "completed") and not document.get("date_paid_gmt"):
            document["date_paid"], document["date_paid_gmt"] = now_local, now_gmt
        if status == "completed":
            document["date_completed"], document["date_completed_gmt"] = now_local, now_gmt
        document["is_editable"] = status in ("pending", "on-hold")
        document["needs_payment"] = status in ("pending", "failed")
        remaining = Decimal(document["total"]) - so.refunded_amount(document)
        if status == "refunded" and remaining > 0:
            self._create_refund(document["id"], None, so.REFUND_STATUS_NOTE, refunded_payment=False)
        return True

    def _create_refund(
        self,
        order_id: int,
        amount: Decimal | None,
        reason: str,
        *,
        refunded_payment: bool,
        line_items: list[Json] | None = None,
    ) -> Json:
        document = self._order_doc(order_id)
        now = self._now()
        refund = so.build_refund(
            document,
            refund_id=self._next_id,
            created_gmt=now,
            amount=amount,
            reason=reason,
            refunded_payment=refunded_payment,
        )
        if line_items:
            refund["line_items"] = line_items
        self._take_id()
        self._refunds[refund["id"]] = refund
        self._refund_parent[refund["id"]] = order_id
        self._orders[order_id] = so.apply_refund(document, refund, modified_gmt=now)
        return refund

    def _fire(self, topic: str, order_id: int) -> None:
        """Queue ``topic`` for every active webhook subscribed to it (§7)."""
        status = self._orders[order_id]["status"] if order_id in self._orders else ""
        if status in ("checkout-draft", "auto-draft", "draft", "new"):
            return
        for webhook in self._webhooks.values():
            if webhook.status == "active" and webhook.topic == topic:
                self._worker.enqueue(webhook.id, topic, order_id, webhook.delivery_url)

    # ----------------------------------------------------------------- delivery host

    def prepare(self, job: Job) -> Prepared | None:
        """Build the request for a due job from the state *now* (called by the worker)."""
        with self._lock:
            webhook = self._webhooks.get(job.webhook_id)
            if webhook is None:
                return None
            if job.ping:
                return prepare_ping(webhook, site_url=self.site_url)
            resource_id = job.resource_id or 0
            if webhook.event == "deleted":
                payload: Json = {"id": resource_id}
            elif resource_id in self._orders:
                payload = self._order_json(resource_id, self._site_rest_base())
            else:
                return None
            return prepare_event(
                webhook, payload, site_url=self.site_url, now=_wall_time(), salt=self._salt
            )

    def record(
        self, job: Job, prepared: Prepared, status_code: int | None, error: str | None
    ) -> None:
        """Log a delivery outcome and apply WooCommerce's failure counting (§7)."""
        entry: dict[str, Any] = {
            "webhook_id": job.webhook_id,
            "topic": job.topic,
            "delivery_id": prepared.delivery_id,
            "order_id": job.resource_id,
            "duplicate": job.duplicate,
        }
        if error is None:
            entry["status_code"] = status_code
        else:
            entry["error"] = error
        with self._lock:
            self.webhooks_delivered.append(entry)
            webhook = self._webhooks.get(job.webhook_id)
            if webhook is None or job.ping or job.duplicate or job.fault.drop:
                return
            success = status_code is not None and 200 <= status_code <= 302
            register_outcome(webhook, success)

    # ----------------------------------------------------------------- webhooks state

    def _webhook_obj(self, webhook_id: int) -> Webhook:
        try:
            return self._webhooks[webhook_id]
        except KeyError:
            raise _not_found("shop_webhook") from None

    def _new_webhook(self, body: Json) -> Webhook:
        topic = str(body.get("topic") or "").lower()
        if not valid_topic(topic):
            raise ApiError(
                400,
                "woocommerce_rest_shop_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
            )
        url = str(body.get("delivery_url") or "")
        _check_delivery_url(url)
        status = _webhook_status(body.get("status", "active"))
        now = self._now()
        webhook = Webhook(
            id=self._next_webhook_id,
            name=str(body.get("name") or now.strftime("Webhook created on %b %d, %Y @ %I:%M %p")),
            status=status,
            topic=topic,
            delivery_url=url,
            secret=str(body.get("secret") or hashlib.md5(b"1|admin").hexdigest()),  # noqa: S324
            created_gmt=now,
            modified_gmt=now,
        )
        self._next_webhook_id += 1
        self._webhooks[webhook.id] = webhook
        if status == "active":
            self._worker.enqueue_ping(webhook.id)
        return webhook

    def _update_webhook(self, webhook: Webhook, body: Json) -> None:
        if "topic" in body:
            topic = str(body["topic"]).lower()
            if not valid_topic(topic):
                raise ApiError(
                    400,
                    "woocommerce_rest_shop_webhook_invalid_topic",
                    "Webhook topic is required and must be valid.",
                )
            webhook.topic = topic
        if "delivery_url" in body:
            _check_delivery_url(str(body["delivery_url"]))
            webhook.delivery_url = str(body["delivery_url"])
        if body.get("secret"):
            webhook.secret = str(body["secret"])
        if "name" in body:
            webhook.name = str(body["name"])
        if "status" in body:
            status = _webhook_status(body["status"])
            if status == "active" and webhook.status != "active":
                webhook.failure_count = 0
                self._worker.enqueue_ping(webhook.id)
            webhook.status = status
        webhook.modified_gmt = self._now()

    # ----------------------------------------------------------------- REST plumbing

    def _routes(self) -> list[Route]:
        p = REST_PREFIX
        writes = ["POST", "PUT", "PATCH"]
        return [
            self._route(f"{p}/orders", self._list_orders, ["GET"], _CAN_LIST),
            self._route(f"{p}/orders/{{id:int}}", self._get_order, ["GET"], _CAN_VIEW),
            self._route(f"{p}/orders/{{id:int}}", self._update_order, writes, _CAN_EDIT),
            self._route(f"{p}/orders/{{id:int}}", self._delete_order, ["DELETE"], _CAN_DELETE),
            self._route(
                f"{p}/orders/{{id:int}}/refunds", self._list_order_refunds, ["GET"], _CAN_LIST
            ),
            self._route(
                f"{p}/orders/{{id:int}}/refunds", self._create_refund_rest, ["POST"], _CAN_CREATE
            ),
            self._route(
                f"{p}/orders/{{id:int}}/refunds/{{refund_id:int}}",
                self._get_refund,
                ["GET"],
                _CAN_VIEW,
            ),
            self._route(f"{p}/refunds", self._list_all_refunds, ["GET"], _CAN_LIST),
            self._route(f"{p}/products", self._list_products, ["GET"], _CAN_LIST),
            self._route(f"{p}/products/{{id:int}}", self._get_product, ["GET"], _CAN_VIEW),
            self._route(f"{p}/webhooks", self._list_webhooks, ["GET"], _CAN_LIST),
            self._route(f"{p}/webhooks", self._create_webhook_rest, ["POST"], _CAN_CREATE),
            self._route(f"{p}/webhooks/{{id:int}}", self._get_webhook, ["GET"], _CAN_VIEW),
            self._route(f"{p}/webhooks/{{id:int}}", self._update_webhook_rest, writes, _CAN_EDIT),
            self._route(f"{p}/webhooks/{{id:int}}", self._delete_webhook, ["DELETE"], _CAN_DELETE),
            self._route(
                "/{path:path}",
                _no_route,
                ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"],
                None,
            ),
        ]

    def _route(
        self, path: str, handler: Handler, methods: list[str], permission: _Permission | None
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            route_path = _route_path(request)
            fault = self.faults.pick(request.method, route_path)
            response = await self._respond(request, handler, fault, permission)
            query = request.url.query
            logged = f"{route_path}?{query}" if query else route_path
            with self._lock:
                self.requests.append((request.method, logged, response.status_code))
            return response

        return Route(path, endpoint, methods=methods)

    async def _respond(
        self, request: Request, handler: Handler, fault: str | None, permission: _Permission | None
    ) -> Response:
        if fault in ("error500", "error503", "rate_limit"):
            return _fault_response(fault, self.faults.retry_after)
        if fault == "timeout":
            await request.body()  # received in full (and cached), answered late
            await asyncio.sleep(self.faults.timeout_delay)
        try:
            self._authenticate(request, permission)
            response = await handler(request)
        except ApiError as error:
            response = _json_response(error.body(), error.status)
        if fault == "lost_response":
            return _fault_response(fault, self.faults.retry_after)
        return response

    def _authenticate(self, request: Request, permission: _Permission | None) -> None:
        """HTTP Basic or ``consumer_key``/``consumer_secret`` query params (§2).

        Wrong key → "Consumer key is invalid.", right key but wrong secret → "Consumer secret is
        invalid." (both ``woocommerce_rest_authentication_error``, 401). No credentials at all
        is not an authentication error in WooCommerce: the request runs as a guest and the
        route's permission check answers 401 ``woocommerce_rest_cannot_view``.
        """
        key, secret = _credentials(request)
        if key is None:
            if permission is not None:
                raise ApiError(401, permission.code, permission.message)
            return
        if key != self.consumer_key:
            raise ApiError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if secret != self.consumer_secret:
            raise ApiError(
                401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."
            )

    # ----------------------------------------------------------------- REST: orders

    async def _list_orders(self, request: Request) -> Response:
        """GET /orders with WooCommerce's filters, sorting and pagination (§3, §4)."""
        params = request.query_params
        page = _Page.parse(params)
        selection = _OrderSelection.parse(params)
        rest_base = _rest_base(request)
        with self._lock:
            matching = [doc for doc in self._orders.values() if selection.matches(doc)]
            ordered = selection.sort(matching)
            items = [self._order_json(doc["id"], rest_base) for doc in page.slice(ordered)]
        fields = _fields(params)
        body = [_only_fields(item, fields) for item in items]
        return _collection_response(request, page, body, len(ordered))

    async def _get_order(self, request: Request) -> Response:
        order_id = request.path_params["id"]
        with self._lock:
            if order_id not in self._orders:
                raise _not_found()
            document = self._order_json(order_id, _rest_base(request))
        return _json_response(_only_fields(document, _fields(request.query_params)))

    async def _update_order(self, request: Request) -> Response:
        """PUT /orders/{id}: status (with its side effects) and simple fields."""
        order_id = request.path_params["id"]
        body = await _json_body(request)
        with self._lock:
            if order_id not in self._orders:
                raise _not_found()
            previous = self._orders[order_id]["status"]
            if self._apply_order_update(self._orders[order_id], body):
                self._fire(_status_topic(previous, self._orders[order_id]["status"]), order_id)
            document = self._order_json(order_id, _rest_base(request))
        return _json_response(document)

    def _apply_order_update(self, document: Json, body: Json) -> bool:
        status = body.get("status")
        if body.get("set_paid") in (True, "true", "1") and document["status"] in (
            "pending",
            "on-hold",
            "failed",
        ):
            status = status or "processing"
        if status is not None and status not in EDITABLE_STATUSES:
            message = f"status is not one of {_wp_list(EDITABLE_STATUSES)}."
            raise _invalid_param("status", message, "rest_not_in_enum")
        changed = _update_fields(document, body)
        if changed:
            self._touch(document)
        if status is not None:
            changed = self._change_status(document, str(status)) or changed
        return changed

    async def _delete_order(self, request: Request) -> Response:
        """DELETE /orders/{id}: trash, or delete for good with ``force=true``; order.deleted."""
        order_id = request.path_params["id"]
        force = _bool_param(request.query_params, "force")
        with self._lock:
            if order_id not in self._orders:
                raise _not_found()
            document = self._order_json(order_id, _rest_base(request))
            if force:
                del self._orders[order_id]
            elif document["status"] == "trash":
                raise ApiError(
                    410, "woocommerce_rest_already_trashed", "The order has already been deleted."
                )
            else:
                self._change_status(self._orders[order_id], "trash")
                document = self._order_json(order_id, _rest_base(request))
            self._fire("order.deleted", order_id)
        return _json_response(document)

    # ----------------------------------------------------------------- REST: refunds

    async def _list_order_refunds(self, request: Request) -> Response:
        order_id = request.path_params["id"]
        with self._lock:
            if order_id not in self._orders:
                raise ApiError(404, "woocommerce_rest_invalid_order_id", "Invalid order ID.")
        return self._refund_collection(request, order_id)

    async def _list_all_refunds(self, request: Request) -> Response:
        """GET /refunds (WC 9.0+): refunds of all orders, each with ``parent_id`` (§5)."""
        return self._refund_collection(request, None)

    def _refund_collection(self, request: Request, order_id: int | None) -> Response:
        params = request.query_params
        page = _Page.parse(params)
        gmt = _bool_param(params, "dates_are_gmt")
        after = _date_param(params, "after", gmt)
        before = _date_param(params, "before", gmt)
        descending = _enum_param(params, "order", ("asc", "desc"), "desc") == "desc"
        orderby = _enum_param(
            params, "orderby", ("date", "id", "include", "title", "slug", "modified"), "date"
        )
        include = _int_list_param(params, "include")
        parents = _int_list_param(params, "parent")
        rest_base = _rest_base(request)
        field = "date_created_gmt" if gmt else "date_created"
        with self._lock:
            selected = [
                refund
                for rid, refund in self._refunds.items()
                if (order_id is None or self._refund_parent[rid] == order_id)
                and (include is None or rid in include)
                and (parents is None or self._refund_parent[rid] in parents)
                and _within(refund[field], after, before)
            ]
            if orderby in ("date", "modified"):
                selected.sort(key=lambda r: (r["date_created_gmt"], r["id"]), reverse=descending)
            else:
                selected.sort(key=lambda r: r["id"], reverse=descending)
            items = [
                self._refund_json(refund["id"], rest_base, with_parent=order_id is None)
                for refund in page.slice(selected)
            ]
        return _collection_response(request, page, items, len(selected))

    async def _get_refund(self, request: Request) -> Response:
        order_id, refund_id = request.path_params["id"], request.path_params["refund_id"]
        with self._lock:
            if self._refund_parent.get(refund_id) != order_id:
                raise ApiError(404, "woocommerce_rest_invalid_id", "Invalid ID.")
            document = self._refund_json(refund_id, _rest_base(request))
        return _json_response(document)

    async def _create_refund_rest(self, request: Request) -> Response:
        """POST /orders/{id}/refunds; ``api_refund`` defaults to true and calls the gateway."""
        order_id = request.path_params["id"]
        body = await _json_body(request)
        amount = _refund_amount(body.get("amount"))
        api_refund = body.get("api_refund", True) not in (False, "false", "0", 0)
        with self._lock:
            if order_id not in self._orders:
                raise ApiError(404, "woocommerce_rest_invalid_order_id", "Invalid order ID.")
            document = self._orders[order_id]
            if api_refund and document["payment_method"] not in REFUNDING_GATEWAYS:
                raise ApiError(
                    500,
                    "woocommerce_rest_cannot_create_order_refund",
                    "The payment gateway for this order does not support automatic refunds.",
                )
            lines = _requested_refund_lines(document, body.get("line_items"), self._next_id)
            try:
                refund = self._create_refund(
                    order_id,
                    amount,
                    str(body.get("reason") or ""),
                    refunded_payment=api_refund,
                    line_items=lines,
                )
            except so.RefundError as error:
                raise ApiError(error.status, error.code, str(error)) from None
            self._fire("order.updated", order_id)
            payload = self._refund_json(refund["id"], _rest_base(request))
        return _json_response(payload, 201)

    # ----------------------------------------------------------------- REST: products

    async def _list_products(self, request: Request) -> Response:
        """GET /products; ``sku`` is exact, comma-separated, and also finds variations (§6)."""
        params = request.query_params
        page = _Page.parse(params)
        sku = params.get("sku")
        search = (params.get("search") or "").lower()
        include = _int_list_param(params, "include")
        rest_base = _rest_base(request)
        products = _product_documents(rest_base, with_variations=bool(sku))
        if sku:
            skus = {*sku.split(","), sku}
            products = [p for p in products if p["sku"] in skus]
        if search:
            products = [p for p in products if search in p["name"].lower()]
        if include is not None:
            products = [p for p in products if p["id"] in include]
        descending = _enum_param(params, "order", ("asc", "desc"), "desc") == "desc"
        products.sort(key=lambda p: p["id"], reverse=descending)
        return _collection_response(request, page, page.slice(products), len(products))

    async def _get_product(self, request: Request) -> Response:
        product_id = request.path_params["id"]
        for product in _product_documents(_rest_base(request), with_variations=True):
            if product["id"] == product_id:
                return _json_response(product)
        raise ApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")

    # ----------------------------------------------------------------- REST: webhooks

    async def _list_webhooks(self, request: Request) -> Response:
        params = request.query_params
        page = _Page.parse(params)
        status = _enum_param(params, "status", ("all", *WEBHOOK_STATUSES), "all")
        descending = _enum_param(params, "order", ("asc", "desc"), "desc") == "desc"
        rest_base = _rest_base(request)
        with self._lock:
            hooks = [w for w in self._webhooks.values() if status in ("all", w.status)]
            hooks.sort(key=lambda w: w.id, reverse=descending)
            items = [w.to_json(rest_base) for w in hooks]
        return _collection_response(request, page, page.slice(items), len(items))

    async def _create_webhook_rest(self, request: Request) -> Response:
        body = await _json_body(request)
        with self._lock:
            webhook = self._new_webhook(body)
            payload = webhook.to_json(_rest_base(request))
        return _json_response(payload, 201)

    async def _get_webhook(self, request: Request) -> Response:
        with self._lock:
            payload = self._webhook_obj(request.path_params["id"]).to_json(_rest_base(request))
        return _json_response(payload)

    async def _update_webhook_rest(self, request: Request) -> Response:
        body = await _json_body(request)
        with self._lock:
            webhook = self._webhook_obj(request.path_params["id"])
            self._update_webhook(webhook, body)
            payload = webhook.to_json(_rest_base(request))
        return _json_response(payload)

    async def _delete_webhook(self, request: Request) -> Response:
        """DELETE /webhooks/{id} needs ``force=true``: webhooks cannot be trashed."""
        if not _bool_param(request.query_params, "force"):
            raise ApiError(
                501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing."
            )
        with self._lock:
            webhook = self._webhook_obj(request.path_params["id"])
            payload = webhook.to_json(_rest_base(request))
            del self._webhooks[webhook.id]
        return _json_response(payload)


# --------------------------------------------------------------------------- helpers


def _wall_time() -> float:
    """Wall clock seconds for ``wp_hash(id . time())`` delivery ids."""
    return datetime.now(UTC).timestamp()


def _status_topic(previous: str, status: str) -> str:
    """The webhook topic a status change fires (trash is a delete, untrash a restore; §7)."""
    if status == "trash":
        return "order.deleted"
    if previous == "trash":
        return "order.restored"
    return "order.updated"


def _credentials(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        key, _, secret = decoded.partition(":")
        return key, secret
    params = request.query_params
    query_key = params.get("consumer_key")
    if query_key is None:
        return None, None
    return query_key, params.get("consumer_secret", "")


async def _no_route(request: Request) -> Response:
    raise ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")


def _check_delivery_url(url: str) -> None:
    if not re.match(r"^https?://[^\s/]+", url):
        raise ApiError(
            400,
            "woocommerce_rest_shop_webhook_invalid_delivery_url",
            "Webhook delivery URL must be a valid URL starting with http:// or https://.",
        )


def _webhook_status(value: Any) -> str:
    status = str(value)
    if status not in WEBHOOK_STATUSES:
        message = f"status is not one of {_wp_list(WEBHOOK_STATUSES)}."
        raise _invalid_param("status", message, "rest_not_in_enum")
    return status


def _within(value: str, after: datetime | None, before: datetime | None) -> bool:
    """Exclusive bounds, as WP_Query's date_query with ``inclusive=false`` (§4)."""
    moment = so.parse_wc_date(value)
    return (after is None or moment > after) and (before is None or moment < before)


def _update_fields(document: Json, body: Json) -> bool:
    """Merge the simple writable fields of an order; True if anything changed."""
    changed = False
    for key in ("customer_note", "transaction_id", "payment_method", "payment_method_title"):
        if key in body and document.get(key) != body[key]:
            document[key] = str(body[key])
            changed = True
    for key in ("billing", "shipping"):
        if isinstance(body.get(key), dict):
            merged = {**document[key], **{k: str(v) for k, v in body[key].items()}}
            changed = changed or merged != document[key]
            document[key] = merged
    for meta in body.get("meta_data") or []:
        if isinstance(meta, dict) and "key" in meta:
            changed = _upsert_meta(document, str(meta["key"]), meta.get("value")) or changed
    return changed


def _upsert_meta(document: Json, key: str, value: Any) -> bool:
    for entry in document["meta_data"]:
        if entry["key"] == key:
            if entry["value"] == value:
                return False
            entry["value"] = value
            return True
    used = [entry["id"] for entry in document["meta_data"]] or [document["id"] * 100 + 90]
    document["meta_data"].append({"id": max(used) + 1, "key": key, "value": value})
    return True


def _refund_amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        amount = Decimal(0)
    if amount <= 0:
        raise ApiError(
            400, "woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero."
        )
    return amount


def _requested_refund_lines(document: Json, requested: Any, refund_id: int) -> list[Json] | None:
    """Negative refund lines from ``line_items[{id, quantity, refund_total, refund_tax}]``."""
    if not isinstance(requested, list) or not requested:
        return None
    by_id = {line["id"]: line for line in document["line_items"]}
    lines: list[Json] = []
    for index, item in enumerate(requested):
        original = by_id.get(int(item.get("id", 0))) if isinstance(item, dict) else None
        if original is None:
            raise ApiError(400, "woocommerce_rest_invalid_order_refund", "Invalid line item ID.")
        quantity = int(item.get("quantity") or 0)
        total = Decimal(str(item.get("refund_total") or 0))
        tax = sum(
            (Decimal(str(t.get("refund_total") or 0)) for t in item.get("refund_tax") or []),
            Decimal(0),
        )
        meta_id = refund_id * 100 + 2 * index
        lines.append(
            {
                "id": meta_id + 1,
                "name": original["name"],
                "product_id": original["product_id"],
                "variation_id": original["variation_id"],
                "quantity": -quantity,
                "tax_class": original["tax_class"],
                "subtotal": so.money(-total),
                "subtotal_tax": so.money(-tax),
                "total": so.money(-total),
                "total_tax": so.money(-tax),
                "taxes": [
                    {
                        "id": so.TAX_RATE_ID,
                        "total": so.tax_string(-tax),
                        "subtotal": so.tax_string(-tax),
                    }
                ]
                if tax
                else [],
                "meta_data": [
                    {"id": meta_id, "key": "_refunded_item_id", "value": str(original["id"])}
                ],
                "sku": original["sku"],
                "price": so.json_number(-total / quantity) if quantity else 0,
            }
        )
    return lines


@dataclass(frozen=True)
class _OrderSelection:
    """The filters and sort order of one ``GET /orders`` request (§4 list filters)."""

    statuses: tuple[str, ...]
    gmt: bool
    bounds: tuple[datetime | None, datetime | None, datetime | None, datetime | None]
    include: tuple[int, ...] | None
    exclude: tuple[int, ...]
    customer: int | None
    product: int | None
    search: str
    orderby: str
    descending: bool

    @classmethod
    def parse(cls, params: QueryParams) -> _OrderSelection:
        gmt = _bool_param(params, "dates_are_gmt")
        bounds = (
            _date_param(params, "after", gmt),
            _date_param(params, "before", gmt),
            _date_param(params, "modified_after", gmt),
            _date_param(params, "modified_before", gmt),
        )
        include = _int_list_param(params, "include")
        customer = params.get("customer")
        product = params.get("product")
        return cls(
            statuses=tuple(_status_filter(params)),
            gmt=gmt,
            bounds=bounds,
            include=tuple(include) if include is not None else None,
            exclude=tuple(_int_list_param(params, "exclude") or ()),
            customer=_int_param(params, "customer", 0) if customer else None,
            product=_int_param(params, "product", 0) if product else None,
            search=(params.get("search") or "").lower(),
            orderby=_enum_param(
                params, "orderby", ("date", "id", "include", "title", "slug", "modified"), "date"
            ),
            descending=_enum_param(params, "order", ("asc", "desc"), "desc") == "desc",
        )

    def matches(self, document: Json) -> bool:
        return (
            self._status_ok(document["status"])
            and self._dates_ok(document)
            and (self.include is None or document["id"] in self.include)
            and document["id"] not in self.exclude
            and (self.customer is None or document["customer_id"] == self.customer)
            and (self.product is None or _has_product(document, self.product))
            and (not self.search or self.search in _search_text(document))
        )

    def _status_ok(self, status: str) -> bool:
        if "any" in self.statuses:
            return status not in ("trash", "checkout-draft")
        return status in self.statuses

    def _dates_ok(self, document: Json) -> bool:
        suffix = "_gmt" if self.gmt else ""
        after, before, modified_after, modified_before = self.bounds
        return _within(document[f"date_created{suffix}"], after, before) and _within(
            document[f"date_modified{suffix}"], modified_after, modified_before
        )

    def sort(self, documents: list[Json]) -> list[Json]:
        """``date``/``modified`` get the id as tie-breaker, in the same direction (§3)."""
        if self.orderby == "date":
            key: Callable[[Json], Any] = lambda d: (d["date_created_gmt"], d["id"])  # noqa: E731
        elif self.orderby == "modified":
            key = lambda d: (d["date_modified_gmt"], d["id"])  # noqa: E731
        elif self.orderby == "include" and self.include is not None:
            positions = {order_id: index for index, order_id in enumerate(self.include)}
            return sorted(documents, key=lambda d: positions[d["id"]])
        else:
            key = lambda d: d["id"]  # noqa: E731
        return sorted(documents, key=key, reverse=self.descending)


def _renumber_items(document: Json) -> None:
    """Give the items of an order that had no id fresh ids in the order's own id block."""
    next_id = document["id"] * 100
    for key in ("meta_data", "line_items", "tax_lines", "shipping_lines", "fee_lines"):
        for item in document.get(key) or []:
            item["id"] = next_id
            next_id += 1
            for meta in item.get("meta_data") or []:
                meta["id"] = next_id
                next_id += 1
    for item in document.get("coupon_lines") or []:
        item["id"] = next_id
        next_id += 1


def _has_product(document: Json, product_id: int) -> bool:
    return any(
        product_id in (line["product_id"], line["variation_id"]) for line in document["line_items"]
    )


def _search_text(document: Json) -> str:
    billing = document["billing"]
    parts = [str(document["id"]), document["number"], *(str(v) for v in billing.values())]
    parts += [line["name"] for line in document["line_items"]]
    return " ".join(parts).lower()


def _product_documents(rest_base: str, *, with_variations: bool) -> list[Json]:
    """The catalogue as ``/products`` returns it; variations only when searching by SKU."""
    created_local, created_gmt = so.wc_dates(datetime(2023, 1, 15, 9, 0, tzinfo=UTC))
    documents: list[Json] = []
    parents_done: set[int] = set()
    for product in so.CATALOGUE:
        if product.parent_id and product.parent_id not in parents_done:
            parents_done.add(product.parent_id)
            documents.append(_variable_parent(product, rest_base, created_local, created_gmt))
        if product.parent_id and not with_variations:
            continue
        documents.append(_product_document(product, rest_base, created_local, created_gmt))
    return documents


def _product_document(product: so.Product, rest_base: str, local: str, gmt: str) -> Json:
    price = f"{product.price_excl:.2f}"
    slug = re.sub(r"[^a-z0-9]+", "-", product.sku.lower()).strip("-")
    return {
        "id": product.id,
        "name": product.name,
        "slug": slug,
        "permalink": f"{rest_base.split('wp-json/')[0]}product/{slug}/",
        "date_created": local,
        "date_created_gmt": gmt,
        "date_modified": local,
        "date_modified_gmt": gmt,
        "type": "variation" if product.parent_id else "simple",
        "status": "publish",
        "sku": product.sku,
        "price": price,
        "regular_price": price,
        "sale_price": "",
        "tax_status": "taxable",
        "tax_class": "",
        "manage_stock": True,
        "stock_quantity": 25,
        "stock_status": "instock",
        "parent_id": product.parent_id,
        "attributes": [{"name": dkey, "option": dval} for _, _, dkey, dval in product.attributes],
        "meta_data": [],
        "_links": {
            "self": [{"href": f"{rest_base}products/{product.id}"}],
            "collection": [{"href": f"{rest_base}products"}],
        },
    }


def _variable_parent(variation: so.Product, rest_base: str, local: str, gmt: str) -> Json:
    parent = so.Product(
        id=variation.parent_id,
        sku="TEE",
        name="T-shirt",
        price_excl=variation.price_excl,
        price_incl=variation.price_incl,
    )
    document = _product_document(parent, rest_base, local, gmt)
    document["type"] = "variable"
    document["variations"] = [p.id for p in so.CATALOGUE if p.parent_id == variation.parent_id]
    return document

"""A faithful simulator of the Visma e-conomic REST API, for the demo, tests and benchmarks.

Facts come from the fact sheet ``shared/reference/apis/e-conomic.md`` (cited as §n below) and
the endpoint extraction ``shared/reference/specs/e-conomic/restdocs-2019-endpoints.json``, which
is loaded at runtime (see :mod:`kobling.connectors.economic.sandbox_spec`) and drives required,
filterable and sortable properties and body validation.

What it serves: customers and products (GET, POST, PUT), draft invoices (GET, POST, DELETE, PDF,
booking instructions), booking (POST /invoices/booked), booked invoices (GET, PDF), the master
data an invoice refers to (VAT zones, payment terms, layouts, customer and product groups,
units, currencies, accounting years), journals with customer-payment vouchers (§10, see
:mod:`kobling.connectors.economic.sandbox_journals`), plus a minimal ``GET /self``.

What it deliberately does not do:

* Demo tokens (``demo``/``?demo=true``, §2) are not supported: only the configured tokens pass.
* VAT is simplified: a line's rate is its product group's rate when the invoice's
  ``recipient.vatZone`` is 1 (Domestic), else 0 (EU reverse charge, export). The real API
  derives it from the product group's sales accounts per zone. Groups with other rates (One-Stop-
  Shop, reduced rates) are configured with :meth:`EconomicSandbox.add_product_group`.
* Exchange rates are fixed, illustrative numbers. Payment vouchers stay unbooked in their
  journal, as the API cannot book a journal (§10), so ``remainder`` stays equal to
  ``grossAmount``; :meth:`EconomicSandbox.payments_for_invoice` shows what was registered.

For fault tests a :class:`FaultInjector` makes requests fail the way networks and servers do:
``error500`` (nothing written), ``timeout`` (sleep, then 504, nothing written),
``lost_response`` (the write happens, the client gets a 500: the classic source of duplicates,
see ARCHITECTURE.md) and ``rate_limit`` (429 with ``Retry-After``, nothing written). A standing
limit of calls per agreement (:meth:`EconomicSandbox.limit_calls`, a test device: real
e-conomic has only a daily fair-use budget, §11) lets benchmarks show that Kobling paces itself.

The app is served by uvicorn in a background thread while tests inspect the state from another
thread, so all state lives behind one ``threading.Lock``; nothing awaits while holding it.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import logging
import random
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from kobling.connectors.economic.escaping import (
    escape_self_link_id,
    self_link_path_segment,
    unescape_self_link_id,
)
from kobling.connectors.economic.sandbox_filters import QueryError, query_collection
from kobling.connectors.economic.sandbox_journals import (
    JOURNALS_SPEC_PATH,
    VOUCHERS_SPEC_PATH,
    VoucherContext,
    build_voucher,
    check_open_date,
    check_voucher,
    link_journal,
    link_voucher,
    seed_journals,
    vouchers_list_spec,
)
from kobling.connectors.economic.sandbox_journals import (
    payments_for_invoice as _payments_for_invoice,
)
from kobling.connectors.economic.sandbox_rate_limit import SlidingWindowLimit
from kobling.connectors.economic.sandbox_spec import (
    E_BARRED,
    E_DOES_NOT_EXIST,
    E_DUPLICATE,
    E_MISMATCH,
    E_NO_IDENTIFIER,
    E_REQUIRED,
    E_SCALE,
    EndpointSpec,
    ErrorNode,
    SpecCatalog,
    decimal_places,
)
from kobling.connectors.economic.sandbox_spec import validate_body as validate_against_spec
from kobling.connectors.jsonutil import dumps

__all__ = ["FAULT_KINDS", "EconomicSandbox", "FaultInjector", "round_half_up"]

log = logging.getLogger(__name__)

FAULT_KINDS: Final = ("error500", "timeout", "lost_response", "rate_limit")
_HTTP_METHODS: Final = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
_CENT: Final = Decimal("0.01")
_ZERO: Final = Decimal("0.00")
_DOMESTIC_ZONE: Final = 1

# Error codes: e-conomic's documented ones (§11), then the simulator's own SIM- codes for cases
# whose real codes are not documented (§14); connectors must not depend on the SIM- codes. The
# codes shared with the journal rules live in sandbox_spec.
E_QUANTITY_MISSING: Final = "E04730"
E_NO_LINES: Final = "SIM-NO-LINES"


def round_half_up(value: Decimal) -> Decimal:
    """Round to cents, halves away from zero (so credit notes mirror invoices exactly)."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


# --- JSON in and out ----------------------------------------------------------------------


def _compact(value: Any) -> Any:
    """Drop false booleans and nulls from objects: e-conomic omits them (§1)."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None and v is not False}
    if isinstance(value, list):
        return [_compact(item) for item in value]
    return value


def _json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response; Decimals are written as exact JSON numbers, never via float."""
    return Response(
        dumps(_compact(payload)),
        status_code=status,
        headers=dict(headers or {}),
        media_type="application/json; charset=utf-8",
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number e-conomic accepts")


def _parse_json(raw: bytes) -> Any:
    """Parse a request body; floats become Decimal so money never passes through a float."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(
            400, "Invalid JSON.", "The request body must be a valid JSON document."
        ) from None


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


# --- errors -------------------------------------------------------------------------------


class ApiError(Exception):
    """An e-conomic style error response (§11), raised anywhere inside a handler."""

    def __init__(
        self,
        status: int,
        message: str,
        hint: str,
        *,
        errors: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint
        self.errors = errors
        self.headers = dict(headers or {})

    def response(self) -> Response:
        body: dict[str, Any] = {
            "message": self.message,
            "developerHint": self.hint,
            "logId": str(uuid.uuid4()),
            "httpStatusCode": self.status,
        }
        if self.errors:
            body["errors"] = self.errors
        body["logTime"] = _now_text()
        return _json_response(self.status, body, self.headers)


def _validation_error(errors: ErrorNode) -> ApiError:
    return ApiError(
        400,
        "Validation error.",
        "Inspect validation errors and correct your request.",
        errors=errors.to_json(),
    )


def _server_error() -> ApiError:
    """The 500 of error500 and lost_response: identical, so a client cannot tell them apart."""
    return ApiError(
        500,
        "An unexpected error occurred.",
        "Try again later; contact e-conomic support if the problem persists.",
    )


# --- fault injection ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Fault:
    kind: str
    delay: float
    retry_after: int


@dataclass
class _OneShot:
    method: str
    prefix: str
    kind: str
    remaining: int


def _check_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")


def _normalize_prefix(prefix: str) -> str:
    return "/" + prefix.lstrip("/")


class FaultInjector:
    """Decides which requests fail, and how; records every fault it injects.

    Two sources: a seeded random ``rate`` over chosen methods and kinds (:meth:`configure`),
    and deterministic one-shot faults (:meth:`fail_next`), which take precedence. One-shot
    faults use the ``timeout_delay`` and ``retry_after`` of the last :meth:`configure`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.injected: list[tuple[str, str, str]] = []
        self._one_shots: list[_OneShot] = []
        self.configure(rate=0.0)

    def configure(
        self,
        *,
        rate: float,
        kinds: Sequence[str] = FAULT_KINDS,
        seed: int = 0,
        methods: Sequence[str] = ("GET", "POST", "PUT", "DELETE"),
        timeout_delay: float = 3.0,
        retry_after: int = 1,
    ) -> None:
        """Fail a fraction ``rate`` (0..1) of requests with one of ``kinds``, reproducibly."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        for kind in kinds:
            _check_kind(kind)
        if rate > 0 and not kinds:
            raise ValueError("kinds must not be empty when rate > 0")
        with self._lock:
            self._rate = rate
            self._kinds = tuple(kinds)
            self._random = random.Random(seed)
            self._methods = frozenset(m.upper() for m in methods)
            self._timeout_delay = timeout_delay
            self._retry_after = retry_after

    def fail_next(self, method: str, path_prefix: str, kind: str, count: int = 1) -> None:
        """Fail the next ``count`` requests of ``method`` ("*" = any) under ``path_prefix``."""
        _check_kind(kind)
        if count < 1:
            raise ValueError("count must be at least 1")
        shot = _OneShot(method.upper(), _normalize_prefix(path_prefix), kind, count)
        with self._lock:
            self._one_shots.append(shot)

    def clear(self) -> None:
        """Stop injecting: no rate, no pending one-shot faults. ``injected`` is kept."""
        self.configure(rate=0.0)
        with self._lock:
            self._one_shots.clear()

    def draw(self, method: str, path: str) -> _Fault | None:
        """The fault for this request, if any (called once per authorized request)."""
        with self._lock:
            kind = self._one_shot_kind(method, path) or self._random_kind(method)
            if kind is None:
                return None
            self.injected.append((kind, method, path))
            return _Fault(kind, self._timeout_delay, self._retry_after)

    def _one_shot_kind(self, method: str, path: str) -> str | None:
        for shot in self._one_shots:
            if shot.method in ("*", method) and path.startswith(shot.prefix):
                shot.remaining -= 1
                if shot.remaining == 0:
                    self._one_shots.remove(shot)
                return shot.kind
        return None

    def _random_kind(self, method: str) -> str | None:
        if self._rate <= 0 or method not in self._methods:
            return None
        if self._random.random() >= self._rate:
            return None
        return self._random.choice(self._kinds)


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "Too many requests.",
        "Slow down and retry after the number of seconds in Retry-After.",
        headers={"Retry-After": str(retry_after)},
    )


async def _fault_response(fault: _Fault) -> Response:
    """The answer of a fault injected before any write."""
    if fault.kind == "timeout":
        await asyncio.sleep(fault.delay)
        return ApiError(504, "Gateway timeout.", "The request timed out; try again.").response()
    if fault.kind == "rate_limit":
        return _too_many_requests(fault.retry_after).response()
    return _server_error().response()


# --- resources ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """A resource collection: its path, the property that identifies an item, the id type."""

    path: str
    id_key: str
    numeric: bool = True
    spec_path: str = ""  # the collection's path in the spec, when it differs from ``path``
    aliases: tuple[str, ...] = ()  # other paths of the collection, accepted in self links

    @property
    def list_spec_path(self) -> str:
        return self.spec_path or f"/{self.path}"


_KINDS: Final = {
    "customers": _Kind("customers", "customerNumber"),
    "products": _Kind("products", "productNumber", numeric=False),
    "invoices/drafts": _Kind("invoices/drafts", "draftInvoiceNumber"),
    "invoices/booked": _Kind("invoices/booked", "bookedInvoiceNumber"),
    "vat-zones": _Kind("vat-zones", "vatZoneNumber"),
    "payment-terms": _Kind("payment-terms", "paymentTermsNumber"),
    "layouts": _Kind("layouts", "layoutNumber"),
    "customer-groups": _Kind("customer-groups", "customerGroupNumber"),
    "product-groups": _Kind("product-groups", "productGroupNumber"),
    "units": _Kind("units", "unitNumber"),
    "currencies": _Kind("currencies", "code", numeric=False),
    "accounting-years": _Kind("accounting-years", "year", numeric=False),
    "journals": _Kind(
        "journals",
        "journalNumber",
        spec_path=JOURNALS_SPEC_PATH,
        aliases=("journals-experimental",),
    ),
}
_MASTER_DATA: Final = (
    "vat-zones",
    "payment-terms",
    "layouts",
    "customer-groups",
    "product-groups",
    "units",
    "currencies",
    "accounting-years",
)
# Reference properties (§1 "Self link"): written as number or self, returned with both.
_REFERENCES: Final = {
    "customer": "customers",
    "customerGroup": "customer-groups",
    "paymentTerms": "payment-terms",
    "vatZone": "vat-zones",
    "layout": "layouts",
    "product": "products",
    "productGroup": "product-groups",
    "unit": "units",
    "draftInvoice": "invoices/drafts",
    "journal": "journals",
    "accountingYear": "accounting-years",
    "currency": "currencies",  # an object only on journal entries; invoices carry the code
}
# The seeded product groups: number -> (name, VAT rate in % on the domestic VAT zone).
_SEED_PRODUCT_GROUPS: Final = {
    1: ("Goods with VAT", Decimal("25.00")),
    2: ("Services without VAT", _ZERO),
    3: ("Rounding, no VAT", _ZERO),
}
_CURRENCIES: Final = {  # code: (name, ISO number, DKK per 100 units; fixed, illustrative)
    "DKK": ("Danish krone", "208", Decimal("100")),
    "EUR": ("Euro", "978", Decimal("746.00")),
    "SEK": ("Swedish krona", "752", Decimal("65.00")),
    "NOK": ("Norwegian krone", "578", Decimal("64.00")),
    "USD": ("US dollar", "840", Decimal("690.00")),
    "GBP": ("Pound sterling", "826", Decimal("870.00")),
}


def _seed_master_data() -> dict[str, dict[Any, dict[str, Any]]]:
    """The agreement's setup as given in the brief: what a fresh demo agreement offers."""
    zones = [(1, "Domestic"), (2, "EU"), (3, "Abroad")]
    return {
        "vat-zones": {
            n: {
                "vatZoneNumber": n,
                "name": name,
                "enabledForCustomer": True,
                "enabledForSupplier": True,
            }
            for n, name in zones
        },
        "payment-terms": {
            1: {
                "paymentTermsNumber": 1,
                "name": "Netto 8 dage",
                "daysOfCredit": 8,
                "paymentTermsType": "net",
            }
        },
        "layouts": {19: {"layoutNumber": 19, "name": "Standard"}},
        "customer-groups": {
            1: {"customerGroupNumber": 1, "name": "Domestic customers"},
            2: {"customerGroupNumber": 2, "name": "Foreign customers"},
        },
        "product-groups": {
            n: {"productGroupNumber": n, "name": name}
            for n, (name, _) in _SEED_PRODUCT_GROUPS.items()
        },
        "units": {1: {"unitNumber": 1, "name": "stk."}},
        "currencies": {
            code: {"code": code, "name": name, "isoNumber": iso}
            for code, (name, iso, _) in _CURRENCIES.items()
        },
        "accounting-years": {
            str(y): {"year": str(y), "fromDate": f"{y}-01-01", "toDate": f"{y}-12-31"}
            # 2024 on, and always at least next year: sandbox orders are dated "now".
            for y in range(2024, max(2028, date.today().year + 2))
        },
    }


# --- requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """What a handler needs from the request; built before the state lock is taken."""

    method: str
    path: str
    query: QueryParams
    raw_query: str
    base: str
    params: dict[str, str]
    body: bytes = b""
    content_type: str = ""

    def link(self, kind_name: str, ident: Any = None) -> str:
        """Self link of a collection, or of one item (id escaped per §1)."""
        url = f"{self.base}/{_KINDS[kind_name].path}"
        return url if ident is None else f"{url}/{self_link_path_segment(str(ident))}"


Handler = Callable[[_Call], Response]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def _route_path(scope: Scope) -> str:
    """The path below the mount point, without a trailing slash (both forms are accepted)."""
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.rstrip("/") or "/"


def _base_url(request: Request) -> str:
    """Scheme, host and mount point, so self links work when mounted under a prefix."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{root}"


_scale = decimal_places


# --- PDF ----------------------------------------------------------------------------------


def _pdf_text(text: str) -> str:
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _pdf_document(lines: Sequence[str]) -> bytes:
    """A minimal, valid one-page PDF with the given text lines (Helvetica, A4)."""
    text = " ".join(f"({_pdf_text(line)}) Tj T*" for line in lines)
    stream = f"BT /F1 12 Tf 16 TL 72 770 Td {text} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# --- the simulator ------------------------------------------------------------------------


@dataclass
class _State:
    """Everything a reset restores: stored documents by collection, number counters and the
    VAT rate of each product group (by group number)."""

    store: dict[str, dict[Any, dict[str, Any]]]
    counters: dict[str, int] = field(default_factory=dict)
    group_rates: dict[int, Decimal] = field(default_factory=dict)


class EconomicSandbox:
    """The e-conomic REST API as an ASGI app (``self.app``), with inspection for tests.

    Stored documents keep amounts as ``Decimal`` and references as numbers only; self links are
    added when a document is sent, from the request's base URL (so the app can be mounted under
    any prefix, e.g. ``/sandbox/economic``).
    """

    def __init__(
        self,
        *,
        app_secret_token: str = "sandbox-app-secret",  # noqa: S107 - sandbox default
        agreement_grant_token: str = "sandbox-agreement-grant",  # noqa: S107
        spec_path: Path | None = None,
        base_currency: str = "DKK",
    ) -> None:
        if base_currency not in _CURRENCIES:
            raise ValueError(f"base_currency must be one of {', '.join(_CURRENCIES)}")
        self._app_secret = app_secret_token.encode()
        self._grant = agreement_grant_token.encode()
        self.base_currency = base_currency
        self.catalog = SpecCatalog.load(spec_path)
        self.faults = FaultInjector()
        self._call_limit = SlidingWindowLimit()
        self.requests: list[tuple[str, str, int]] = []
        self._listeners: list[Callable[[str, str, int], None]] = []
        self._added_groups: dict[int, tuple[str, Decimal]] = {}
        self._lock = threading.Lock()
        self._state = self._fresh_state()
        self._routes = self._build_routes()
        self.app = Starlette(
            routes=[Route("/{path:path}", self._endpoint, methods=list(_HTTP_METHODS))]
        )

    # -- inspection and control (thread-safe) ---------------------------------------------

    def add_listener(self, fn: Callable[[str, str, int], None]) -> None:
        """Call ``fn(method, path_with_query, status)`` after each request, before it is sent."""
        with self._lock:
            self._listeners.append(fn)

    def customers(self) -> list[dict[str, Any]]:
        return self._snapshot("customers")

    def products(self) -> list[dict[str, Any]]:
        return self._snapshot("products")

    def draft_invoices(self) -> list[dict[str, Any]]:
        return self._snapshot("invoices/drafts")

    def booked_invoices(self) -> list[dict[str, Any]]:
        return self._snapshot("invoices/booked")

    def vouchers(self) -> list[dict[str, Any]]:
        """Every voucher of every journal, by accounting year and voucher number (§10)."""
        with self._lock:
            return copy.deepcopy(self._ordered_vouchers())

    def payments_for_invoice(self, booked_invoice_number: int) -> list[dict[str, Any]]:
        """The ``customerPayments`` entries whose ``customerInvoice`` is this booked invoice.

        They sit unbooked in their journal, so the invoice's ``remainder`` does not change.
        """
        with self._lock:
            return _payments_for_invoice(self._ordered_vouchers(), booked_invoice_number)

    def add_product_group(self, number: int, name: str, rate: Decimal) -> None:
        """Add (or redefine) product group ``number``: its lines carry ``rate`` % VAT on the
        domestic VAT zone (0 on the others), e.g. ``add_product_group(11, "Goods DE 19% (OSS)",
        Decimal(19))`` for One-Stop-Shop sales, or a reduced rate.

        Agreement setup, like the listeners: it survives :meth:`reset`.
        """
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ValueError("number must be a whole number of at least 1")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name must not be empty")
        value = Decimal(str(rate))
        if not value.is_finite() or not 0 <= value <= 100 or decimal_places(value) > 2:
            raise ValueError("rate must be a percentage from 0 to 100 with at most 2 decimals")
        with self._lock:
            self._added_groups[number] = (name, value)
            _put_product_group(self._state, number, name, value)

    def close_accounting_year(self, year: str) -> None:
        """Close a year, so booking an invoice dated in it fails (§8)."""
        with self._lock:
            self._state.store["accounting-years"][str(year)]["closed"] = True

    def set_product_barred(self, product_number: str, barred: bool = True) -> None:
        """Bar (or un-bar) a product, as a user would in e-conomic (§5)."""
        with self._lock:
            product = self._state.store["products"][product_number]
            if barred:
                product["barred"] = True
            else:
                product.pop("barred", None)

    def limit_calls(self, calls: int | None, period: float = 60.0) -> None:
        """Answer 429 (with ``Retry-After``, nothing done) to a request beyond ``calls`` in the
        last ``period`` seconds of its agreement; ``None`` or 0 switches the limit off.

        A test device: real e-conomic has no per-second limit and no rate-limit headers, only a
        fair-use budget of 50,000 calls per agreement per 24 hours (fact sheet §11). See
        :mod:`kobling.connectors.economic.sandbox_rate_limit`.
        """
        self._call_limit.configure(calls, period)

    @property
    def rate_limited(self) -> int:
        """How many requests the standing limit of :meth:`limit_calls` refused with 429."""
        return self._call_limit.rate_limited

    def reset(self) -> None:
        """Back to the seeded agreement: no customers, products or invoices, no faults, no call
        limit, no log.

        Listeners stay registered (they are wiring, not state).
        """
        with self._lock:
            self._state = self._fresh_state()
            self.requests.clear()
        self.faults.clear()
        self.faults.injected.clear()
        self._call_limit.reset()

    def _snapshot(self, kind_name: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._state.store[kind_name].values()))

    def _ordered_vouchers(self) -> list[dict[str, Any]]:
        """Stored vouchers (keyed by (year, voucherNumber)) in that order; call under the lock."""
        vouchers = self._state.store["vouchers"]
        return [vouchers[key] for key in sorted(vouchers)]

    def _fresh_state(self) -> _State:
        store = _seed_master_data()
        for name in ("customers", "products", "invoices/drafts", "invoices/booked", "vouchers"):
            store[name] = {}
        store["journals"] = seed_journals()
        state = _State(store)
        groups = {**_SEED_PRODUCT_GROUPS, **self._added_groups}
        for number, (name, rate) in groups.items():
            _put_product_group(state, number, name, rate)
        return state

    # -- ASGI entry point -----------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        method = request.method.upper()
        path = _route_path(request.scope)
        raw_query = request.scope.get("query_string", b"").decode("latin-1")
        try:
            response = await self._respond(request, method, path, raw_query)
        except ApiError as exc:
            response = exc.response()
        self._record(method, f"{path}?{raw_query}" if raw_query else path, response.status_code)
        return response

    async def _respond(self, request: Request, method: str, path: str, raw_query: str) -> Response:
        self._authorize(request)
        wait = self._call_limit.admit(request.headers.get("x-agreementgranttoken", ""))
        if wait is not None:
            return _too_many_requests(wait).response()
        fault = self.faults.draw(method, path)
        if fault is not None and fault.kind != "lost_response":
            return await _fault_response(fault)
        response = await self._dispatch(request, method, path, raw_query)
        if fault is not None:  # lost_response: the write happened, the answer is lost
            return _server_error().response()
        return response

    def _authorize(self, request: Request) -> None:
        """Both token headers must match (§2). Token values are never echoed."""
        app = request.headers.get("x-appsecrettoken", "").encode()
        grant = request.headers.get("x-agreementgranttoken", "").encode()
        if hmac.compare_digest(app, self._app_secret) and hmac.compare_digest(grant, self._grant):
            return
        hint = (
            "Send the X-AppSecretToken and X-AgreementGrantToken headers of your app and "
            "agreement. The Kobling sandbox does not support demo tokens."
        )
        raise ApiError(401, "Unauthorized access (401).", hint)

    async def _dispatch(self, request: Request, method: str, path: str, raw_query: str) -> Response:
        route, params = self._match(method, path)
        body = await request.body() if method in ("POST", "PUT") else b""
        call = _Call(
            method=method,
            path=path,
            query=request.query_params,
            raw_query=raw_query,
            base=_base_url(request),
            params=params,
            body=body,
            content_type=request.headers.get("content-type", ""),
        )
        with self._lock:
            try:
                return route.handler(call)
            except ApiError as exc:
                return exc.response()
            except Exception:
                log.exception("e-conomic sandbox: handler failed for %s %s", method, path)
                return _server_error().response()

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]]:
        allowed: list[str] = []
        for route in self._routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict()
            allowed.append(route.method)
        if allowed:
            raise ApiError(
                405,
                "Method not allowed.",
                f"This resource supports {', '.join(allowed)}.",
                headers={"Allow": ", ".join(allowed)},
            )
        raise ApiError(404, "Not found.", f"There is no resource at {path}.")

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(method, path, status)
            except Exception:
                log.exception("e-conomic sandbox: a request listener failed")

    # -- routing table --------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        item = r"(?P<id>[^/]+)"
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/self", self._get_self),
            ("POST", "/customers", self._create_customer),
            ("PUT", f"/customers/{item}", self._update_customer),
            ("POST", "/products", self._create_product),
            ("PUT", f"/products/{item}", self._update_product),
            ("POST", "/invoices/drafts", self._create_draft),
            ("PUT", f"/invoices/drafts/{item}", self._update_draft),
            ("DELETE", f"/invoices/drafts/{item}", self._delete_draft),
            ("GET", f"/invoices/drafts/{item}/pdf", self._draft_pdf),
            (
                "GET",
                f"/invoices/drafts/{item}/templates/booking-instructions",
                self._booking_instructions,
            ),
            ("POST", "/invoices/booked", self._book),
            ("GET", f"/invoices/booked/{item}/pdf", self._booked_pdf),
        ]
        for name in ("customers", "products", "invoices/drafts", "invoices/booked", *_MASTER_DATA):
            table.append(("GET", f"/{name}", self._list_handler(name)))
            table.append(("GET", f"/{name}/{item}", self._item_handler(name)))
        journals = "/(?:journals|journals-experimental)"  # today's name, and the 2019 one (§10)
        voucher = r"(?P<year>[^/]+)-(?P<number>\d+)"
        table += [
            ("GET", journals, self._list_handler("journals")),
            ("GET", f"{journals}/{item}", self._item_handler("journals")),
            ("GET", f"{journals}/{item}/vouchers", self._list_vouchers),
            ("POST", f"{journals}/{item}/vouchers", self._create_voucher),
            ("GET", f"{journals}/{item}/vouchers/{voucher}", self._get_voucher),
        ]
        return [_Route(m, re.compile(p), h) for m, p, h in table]

    def _list_handler(self, kind_name: str) -> Handler:
        return lambda call: self._list(call, kind_name)

    def _item_handler(self, kind_name: str) -> Handler:
        return lambda call: _json_response(
            200, self._render(call, kind_name, self._find(call, kind_name))
        )

    # -- reading --------------------------------------------------------------------------

    def _find(self, call: _Call, kind_name: str) -> dict[str, Any]:
        """The stored document named by the URL's id, or 404."""
        kind = _KINDS[kind_name]
        ident = _parse_id(kind, call.params["id"])
        document = self._state.store[kind_name].get(ident) if ident is not None else None
        if document is None:
            raise ApiError(404, "Not found.", f"There is no resource at {call.path}.")
        return document

    def _list(self, call: _Call, kind_name: str) -> Response:
        """A collection with filter, sort and pagination (§3)."""
        kind = _KINDS[kind_name]
        return self._collection(
            call,
            list(self._state.store[kind_name].values()),
            self.catalog.get("GET", kind.list_spec_path),
            kind,
            lambda document: self._render(call, kind_name, document),
            call.link(kind_name),
        )

    def _collection(
        self,
        call: _Call,
        documents: list[dict[str, Any]],
        spec: EndpointSpec,
        kind: _Kind,
        render: Callable[[dict[str, Any]], dict[str, Any]],
        url: str,
    ) -> Response:
        try:
            page = query_collection(
                documents, call.query.multi_items(), spec, kind.id_key, numeric_id=kind.numeric
            )
        except QueryError as exc:
            raise ApiError(400, exc.message, exc.hint) from None
        body = {
            "collection": [render(dict(document)) for document in page.items],
            "pagination": page.pagination(url),
            "self": url + (f"?{call.raw_query}" if call.raw_query else ""),
        }
        return _json_response(200, body)

    def _render(self, call: _Call, kind_name: str, document: Mapping[str, Any]) -> dict[str, Any]:
        """A stored document as sent: self links on it and on every reference."""
        out = copy.deepcopy(dict(document))
        _link_references(out, call)
        own = call.link(kind_name, document[_KINDS[kind_name].id_key])
        if kind_name in ("invoices/drafts", "invoices/booked"):
            out["pdf"] = {"download": f"{own}/pdf"}
        if kind_name == "invoices/drafts":
            out["templates"] = {
                "bookingInstructions": f"{own}/templates/booking-instructions",
                "self": f"{own}/templates",
            }
        if kind_name == "journals":
            link_journal(out, call.base, own)
        out["self"] = own
        return out

    def _get_self(self, call: _Call) -> Response:
        body = {
            "agreementNumber": 1234567,
            "company": {"name": "Kobling Sandbox ApS", "country": "Denmark"},
            "settings": {"baseCurrency": self.base_currency},
            "self": f"{call.base}/self",
        }
        return _json_response(200, body)

    # -- writing: shared helpers ----------------------------------------------------------

    def _parse_body(self, call: _Call, spec_path: str) -> tuple[dict[str, Any], ErrorNode]:
        """Parse a body and check it against the spec of ``call.method`` + ``spec_path``.

        The errors are returned, not raised: handlers add their own checks to the same tree so
        one 400 lists every problem, as in the docs' example (§11).
        """
        if "application/json" not in call.content_type.lower():
            raise ApiError(
                415, "Unsupported media type.", "Send JSON with Content-Type: application/json."
            )
        return validate_against_spec(
            _parse_json(call.body), self.catalog.get(call.method, spec_path)
        )

    def _resolve(
        self, call: _Call, container: dict[str, Any], key: str, node: ErrorNode
    ) -> dict[str, Any] | None:
        """Look up the reference ``container[key]`` (number or self, §1) and normalize it.

        Errors: E04500 without any identifier, E06000 when the target does not exist (§11).
        Nothing is added when the spec check already reported this property.
        """
        ref = container.get(key)
        if not isinstance(ref, dict) or node.child(key):
            return None
        kind_name = _REFERENCES[key]
        kind = _KINDS[kind_name]
        hint = f"Find a list of resources at {call.link(kind_name)}."
        ident = ref.get(kind.id_key)
        if ident is None and isinstance(ref.get("self"), str):
            ident = _id_from_self(ref["self"], kind)
        if ident is None:
            node.child(key).add(
                E_NO_IDENTIFIER,
                f"No identifiers present on {key}. Please include either a self link or a "
                f"{kind.id_key}.",
                hint=hint,
            )
            return None
        target = self._state.store[kind_name].get(ident)
        if target is None:
            node.child(key).add(E_DOES_NOT_EXIST, f"{key} does not exist.", value=ident, hint=hint)
            return None
        container[key] = {kind.id_key: ident}
        return target

    def _check_currency(self, call: _Call, document: dict[str, Any], node: ErrorNode) -> None:
        code = document.get("currency")
        if node.child("currency"):
            return
        if isinstance(code, str) and code not in self._state.store["currencies"]:
            node.child("currency").add(
                E_DOES_NOT_EXIST,
                "currency does not exist.",
                value=code,
                hint=f"Find a list of currencies at {call.link('currencies')}.",
            )

    def _next_number(self, kind_name: str) -> int:
        """Next free number; numbers are never reused, even after a delete."""
        used = max(self._state.store[kind_name], default=0)
        number = max(used, self._state.counters.get(kind_name, 0)) + 1
        self._state.counters[kind_name] = number
        return int(number)

    def _created(self, call: _Call, kind_name: str, document: dict[str, Any]) -> Response:
        """201 with the created document and its ``Location`` (§11)."""
        body = self._render(call, kind_name, document)
        return _json_response(201, body, {"Location": body["self"]})

    # -- customers (§4) -------------------------------------------------------------------

    def _customer_references(
        self, call: _Call, document: dict[str, Any], errors: ErrorNode
    ) -> None:
        self._check_currency(call, document, errors)
        for key in ("customerGroup", "paymentTerms", "vatZone", "layout"):
            self._resolve(call, document, key, errors)

    def _create_customer(self, call: _Call) -> Response:
        document, errors = self._parse_body(call, "/customers")
        self._customer_references(call, document, errors)
        customers = self._state.store["customers"]
        number = document.get("customerNumber")
        if number in customers:
            errors.child("customerNumber").add(
                E_DUPLICATE, "A customer with this customerNumber already exists.", value=number
            )
        if errors:
            raise _validation_error(errors)
        if number is None:
            number = self._next_number("customers")
        stored = {"customerNumber": number, **_without(document, "customerNumber", "barred")}
        _set_flag(stored, "barred", document.get("barred"))
        stored["lastUpdated"] = _now_text() + "Z"
        customers[number] = stored
        return self._created(call, "customers", stored)

    def _update_customer(self, call: _Call) -> Response:
        number = self._find(call, "customers")["customerNumber"]
        document, errors = self._parse_body(call, "/customers/:customerNumber")
        self._customer_references(call, document, errors)
        if errors:
            raise _validation_error(errors)
        stored = {"customerNumber": number, **_without(document, "customerNumber", "barred")}
        _set_flag(stored, "barred", document.get("barred"))
        stored["lastUpdated"] = _now_text() + "Z"
        self._state.store["customers"][number] = stored
        return _json_response(200, self._render(call, "customers", stored))

    # -- products (§5) --------------------------------------------------------------------

    def _product_references(self, call: _Call, document: dict[str, Any], errors: ErrorNode) -> None:
        for key in ("productGroup", "unit"):
            self._resolve(call, document, key, errors)

    def _create_product(self, call: _Call) -> Response:
        document, errors = self._parse_body(call, "/products")
        self._product_references(call, document, errors)
        number = document.get("productNumber")
        if number in self._state.store["products"]:
            errors.child("productNumber").add(
                E_DUPLICATE, "A product with this productNumber already exists.", value=number
            )
        if errors:
            raise _validation_error(errors)
        return self._created(call, "products", self._store_product(document))

    def _update_product(self, call: _Call) -> Response:
        number = self._find(call, "products")["productNumber"]
        document, errors = self._parse_body(call, "/products/:productNumber")
        self._product_references(call, document, errors)
        if document.get("productNumber", number) != number:
            errors.child("productNumber").add(
                E_MISMATCH,
                "productNumber must match the product number in the URL.",
                value=document.get("productNumber"),
            )
        if errors:
            raise _validation_error(errors)
        return _json_response(200, self._render(call, "products", self._store_product(document)))

    def _store_product(self, document: dict[str, Any]) -> dict[str, Any]:
        stored = _without(document, "barred")
        _set_flag(stored, "barred", document.get("barred"))
        stored["lastUpdated"] = _now_text() + "Z"
        self._state.store["products"][stored["productNumber"]] = stored
        return stored

    # -- draft invoices (§7) --------------------------------------------------------------

    def _update_draft(self, call: _Call) -> Response:
        """PUT overwrites the whole draft (§1: no PATCH); the number stays."""
        number = self._find(call, "invoices/drafts")["draftInvoiceNumber"]
        document = self._validated_draft(call)
        stored = {"draftInvoiceNumber": number, **self._priced_draft(document)}
        self._state.store["invoices/drafts"][number] = stored
        return _json_response(200, self._render(call, "invoices/drafts", stored))

    def _create_draft(self, call: _Call) -> Response:
        document = self._validated_draft(call)
        number = self._next_number("invoices/drafts")
        stored = {"draftInvoiceNumber": number, **self._priced_draft(document)}
        self._state.store["invoices/drafts"][number] = stored
        return self._created(call, "invoices/drafts", stored)

    def _validated_draft(self, call: _Call) -> dict[str, Any]:
        document, errors = self._parse_body(call, "/invoices/drafts")
        self._check_currency(call, document, errors)
        for key in ("customer", "layout", "paymentTerms"):
            self._resolve(call, document, key, errors)
        recipient = document.get("recipient")
        if isinstance(recipient, dict):
            self._resolve(call, recipient, "vatZone", errors.child("recipient"))
        for index, line in enumerate(document.get("lines", [])):
            if isinstance(line, dict):
                self._check_line(call, line, errors.element("lines", index))
        if errors:
            raise _validation_error(errors)
        return document

    def _check_line(self, call: _Call, line: dict[str, Any], node: ErrorNode) -> None:
        """Line rules of §7: product identifier, quantity, description, price scale, bars."""
        product = None
        if "product" not in line:
            node.child("product").add(
                E_NO_IDENTIFIER,
                "No identifiers present on product. Please include either a self link or a "
                "productNumber.",
                hint=f"Find a list of resources at {call.link('products')}.",
            )
        else:
            product = self._resolve(call, line, "product", node)
            if "quantity" not in line and not node.child("quantity"):
                node.child("quantity").add(
                    E_QUANTITY_MISSING, "Property quantity must have a value when product is set."
                )
            if "description" not in line and not node.child("description"):
                node.child("description").add(
                    E_REQUIRED, "Property description is required when a product is set."
                )
        if product is not None and product.get("barred"):
            node.child("product").add(
                E_BARRED,
                f"Product {product['productNumber']} is barred and can no longer be sold.",
                value=product["productNumber"],
                hint="Lift the bar on the product, or use another product.",
            )
        price = line.get("unitNetPrice")
        if price is None and product is not None and not node.child("unitNetPrice"):
            line["unitNetPrice"] = round_half_up(Decimal(product.get("salesPrice", 0)))
        elif isinstance(price, int | Decimal) and _scale(price) > 2:
            node.child("unitNetPrice").add(
                E_SCALE,
                "unitNetPrice scale cannot be greater then two decimal places.",
                value=price,
                hint="Please check the format of your data.",
            )
        self._resolve(call, line, "unit", node)

    def _priced_draft(self, document: dict[str, Any]) -> dict[str, Any]:
        """Add the read-only amounts (§7): line nets, totals, base currency, due date."""
        draft = copy.deepcopy(document)
        zone = draft["recipient"]["vatZone"]["vatZoneNumber"]
        lines = draft.get("lines", [])
        for position, line in enumerate(lines, start=1):
            self._price_line(line, position)
        net = sum((line["totalNetAmount"] for line in lines), _ZERO)
        vat = sum((self._line_vat(line, zone)[1] for line in lines), _ZERO)
        rate = self._exchange_rate(draft)
        draft["exchangeRate"] = rate
        draft["netAmount"] = net
        draft["vatAmount"] = vat
        draft["grossAmount"] = net + vat
        draft["netAmountInBaseCurrency"] = round_half_up(net * rate / 100)
        draft["grossAmountInBaseCurrency"] = round_half_up((net + vat) * rate / 100)
        draft["roundingAmount"] = _ZERO
        self._enrich_references(draft)
        return draft

    def _price_line(self, line: dict[str, Any], position: int) -> None:
        line.setdefault("lineNumber", position)
        line.setdefault("sortKey", line["lineNumber"])
        line.setdefault("discountPercentage", _ZERO)
        factor = 1 - Decimal(line["discountPercentage"]) / 100
        line["totalNetAmount"] = round_half_up(
            Decimal(line["quantity"]) * Decimal(line["unitNetPrice"]) * factor
        )
        if "unit" in line:
            line["unit"]["name"] = self._state.store["units"][line["unit"]["unitNumber"]]["name"]

    def _line_vat(self, line: dict[str, Any], zone: int) -> tuple[Decimal, Decimal]:
        """(rate, amount) of a line: the product group's rate in the domestic zone, else 0."""
        product = self._state.store["products"][line["product"]["productNumber"]]
        group = product["productGroup"]["productGroupNumber"]
        rates = self._state.group_rates
        rate = rates.get(group, _ZERO) if zone == _DOMESTIC_ZONE else _ZERO
        return rate, round_half_up(line["totalNetAmount"] * rate / 100)

    def _exchange_rate(self, draft: dict[str, Any]) -> Decimal:
        """Price of 100 units of the invoice currency in the base currency (§7)."""
        given = draft.get("exchangeRate")
        if draft["currency"] == self.base_currency:
            return Decimal("100")
        if given is not None:
            return Decimal(given)
        per_100_dkk = _CURRENCIES[draft["currency"]][2]
        base_per_100_dkk = _CURRENCIES[self.base_currency][2]
        return (per_100_dkk * 100 / base_per_100_dkk).quantize(Decimal("0.000001"))

    def _enrich_references(self, draft: dict[str, Any]) -> None:
        """Fill in what e-conomic returns on an invoice's terms and VAT zone; the due date."""
        store = self._state.store
        terms = store["payment-terms"][draft["paymentTerms"]["paymentTermsNumber"]]
        draft["paymentTerms"] = {key: terms[key] for key in terms}
        zone = draft["recipient"]["vatZone"]["vatZoneNumber"]
        draft["recipient"]["vatZone"] = dict(store["vat-zones"][zone])
        if terms["paymentTermsType"] == "net":
            issued = date.fromisoformat(draft["date"])
            draft["dueDate"] = (issued + timedelta(days=terms["daysOfCredit"])).isoformat()

    def _delete_draft(self, call: _Call) -> Response:
        number = self._find(call, "invoices/drafts")["draftInvoiceNumber"]
        del self._state.store["invoices/drafts"][number]
        item = {"draftInvoiceNumber": number, "self": call.link("invoices/drafts", number)}
        body = {"message": "Deleted invoice.", "deletedCount": 1, "deletedItems": [item]}
        return _json_response(200, body)

    def _booking_instructions(self, call: _Call) -> Response:
        number = self._find(call, "invoices/drafts")["draftInvoiceNumber"]
        body = {
            "draftInvoice": {
                "draftInvoiceNumber": number,
                "self": call.link("invoices/drafts", number),
            },
            "self": f"{call.link('invoices/drafts', number)}/templates/booking-instructions",
        }
        return _json_response(200, body)

    # -- booking and booked invoices (§8, §9) ---------------------------------------------

    def _book(self, call: _Call) -> Response:
        document, errors = self._parse_body(call, "/invoices/booked")
        if "draftInvoice" not in document and not errors.child("draftInvoice"):
            errors.child("draftInvoice").add(E_REQUIRED, "Property draftInvoice is required.")
            raise _validation_error(errors)
        draft = self._resolve(call, document, "draftInvoice", errors)
        number = document.get("bookWithNumber")
        if number in self._state.store["invoices/booked"]:
            errors.child("bookWithNumber").add(
                E_DUPLICATE, "An invoice with this number is already booked.", value=number
            )
        if draft is not None:
            self._check_bookable(draft, errors)
        if errors or draft is None:
            raise _validation_error(errors)
        if number is None:
            number = self._next_number("invoices/booked")
        booked = self._booked_from(draft, number)
        del self._state.store["invoices/drafts"][draft["draftInvoiceNumber"]]
        self._state.store["invoices/booked"][number] = booked
        return self._created(call, "invoices/booked", booked)

    def _check_bookable(self, draft: dict[str, Any], errors: ErrorNode) -> None:
        """What stops a booking: date outside open years, no lines, barred products/customer."""
        self._check_booking_date(draft["date"], errors)
        lines = draft.get("lines", [])
        if not lines:
            errors.child("lines").add(E_NO_LINES, "An invoice without lines cannot be booked.")
        products = self._state.store["products"]
        for index, line in enumerate(lines):
            product = products[line["product"]["productNumber"]]
            if product.get("barred"):
                errors.element("lines", index).child("product").add(
                    E_BARRED,
                    f"Product {product['productNumber']} is barred; the invoice cannot be booked.",
                    value=product["productNumber"],
                    hint="Lift the bar on the product, or replace the line.",
                )
        customer = self._state.store["customers"][draft["customer"]["customerNumber"]]
        if customer.get("barred"):
            errors.child("customer").add(
                E_BARRED,
                f"Customer {customer['customerNumber']} is barred from invoicing.",
                value=customer["customerNumber"],
            )

    def _check_booking_date(self, issued: str, errors: ErrorNode) -> None:
        """Booking needs an open accounting year around the invoice date (§8)."""
        check_open_date(
            self._state.store["accounting-years"], issued, errors.child("date"), action="book"
        )

    def _booked_from(self, draft: dict[str, Any], number: int) -> dict[str, Any]:
        """The booked invoice: the draft's document plus number, line VAT and remainder."""
        booked = {"bookedInvoiceNumber": number, **_without(draft, "draftInvoiceNumber")}
        booked = copy.deepcopy(booked)
        zone = booked["recipient"]["vatZone"]["vatZoneNumber"]
        for line in booked.get("lines", []):
            line["vatRate"], line["vatAmount"] = self._line_vat(line, zone)
        booked["remainder"] = booked["grossAmount"]
        booked["remainderInBaseCurrency"] = booked["grossAmountInBaseCurrency"]
        return booked

    # -- journals and payment vouchers (§10) ----------------------------------------------

    def _list_vouchers(self, call: _Call) -> Response:
        journal = self._find(call, "journals")["journalNumber"]
        vouchers = [v for v in self._ordered_vouchers() if v["journal"]["journalNumber"] == journal]
        # Ordered by (year, number) here; the stable sort by year keeps the numbers in order.
        kind = _Kind("vouchers", "accountingYear.year", numeric=False)
        return self._collection(
            call,
            vouchers,
            vouchers_list_spec(self.catalog.get("GET", VOUCHERS_SPEC_PATH)),
            kind,
            lambda document: self._render_voucher(call, document),
            f"{call.link('journals', journal)}/vouchers",
        )

    def _get_voucher(self, call: _Call) -> Response:
        journal = self._find(call, "journals")["journalNumber"]
        year = _parse_id(_KINDS["accounting-years"], call.params["year"])
        voucher = self._state.store["vouchers"].get((year, int(call.params["number"])))
        if voucher is None or voucher["journal"]["journalNumber"] != journal:
            raise ApiError(404, "Not found.", f"There is no resource at {call.path}.")
        return _json_response(200, self._render_voucher(call, voucher))

    def _create_voucher(self, call: _Call) -> Response:
        """Register customer payments as one unbooked voucher; 201 with an array (§10)."""
        journal = self._find(call, "journals")
        document, errors = self._parse_body(call, VOUCHERS_SPEC_PATH)
        if errors.errors:  # not an object (a bulk array, say): nothing more to check
            raise _validation_error(errors)
        context = VoucherContext(
            store=self._state.store,
            journal=journal,
            base_currency=self.base_currency,
            resolve=lambda container, key, node: self._resolve(call, container, key, node),
            rate_for=lambda code, given: self._exchange_rate(
                {"currency": code, "exchangeRate": given}
            ),
        )
        year = check_voucher(document, context, errors)
        if errors or year is None:
            raise _validation_error(errors)
        number = document.get("voucherNumber")
        if number is None:
            number = self._next_voucher_number(year)
        voucher = build_voucher(document, context, year, int(number))
        self._state.store["vouchers"][(year, voucher["voucherNumber"])] = voucher
        body = [self._render_voucher(call, voucher)]
        return _json_response(201, body, {"Location": body[0]["self"]})

    def _next_voucher_number(self, year: str) -> int:
        """Voucher numbers run per accounting year and are never reused."""
        counter = f"vouchers/{year}"
        used = max((n for y, n in self._state.store["vouchers"] if y == year), default=0)
        number = max(used, self._state.counters.get(counter, 0)) + 1
        self._state.counters[counter] = number
        return int(number)

    def _render_voucher(self, call: _Call, voucher: Mapping[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(dict(voucher))
        _link_references(out, call)
        link_voucher(out, call.base)
        return out

    def _draft_pdf(self, call: _Call) -> Response:
        draft = self._find(call, "invoices/drafts")
        return _pdf_response(f"Draft invoice {draft['draftInvoiceNumber']}", draft)

    def _booked_pdf(self, call: _Call) -> Response:
        booked = self._find(call, "invoices/booked")
        return _pdf_response(f"Invoice {booked['bookedInvoiceNumber']}", booked)


# --- module helpers -----------------------------------------------------------------------


def _parse_id(kind: _Kind, segment: str) -> Any:
    """The id in a URL segment (already percent-decoded): a number, or an unescaped string.

    A string id must arrive in its escaped form (§1): ``/products/SKU 1`` is not found, as a
    connector that forgets to escape would otherwise pass here and fail against e-conomic.
    """
    if kind.numeric:
        return int(segment) if segment.isdigit() else None
    ident = unescape_self_link_id(segment)
    return ident if escape_self_link_id(ident) == segment else None


def _id_from_self(link: str, kind: _Kind) -> Any:
    """The id at the end of a self link to ``kind``, or None if it is not such a link."""
    path = urlsplit(link).path.rstrip("/")
    for name in (kind.path, *kind.aliases):
        marker = f"/{name}/"
        if marker in path:
            segment = unquote(path.rsplit(marker, 1)[1])
            return None if "/" in segment else _parse_id(kind, segment)
    return None


def _link_references(value: Any, call: _Call) -> None:
    """Add ``self`` to every reference object (customer, product, vatZone, ...), in place."""
    if isinstance(value, list):
        for item in value:
            _link_references(item, call)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        kind_name = _REFERENCES.get(key)
        if kind_name and isinstance(item, dict) and _KINDS[kind_name].id_key in item:
            item["self"] = call.link(kind_name, item[_KINDS[kind_name].id_key])
        _link_references(item, call)


def _put_product_group(state: _State, number: int, name: str, rate: Decimal) -> None:
    state.store["product-groups"][number] = {"productGroupNumber": number, "name": name}
    state.group_rates[number] = rate


def _without(document: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in keys}


def _set_flag(document: dict[str, Any], key: str, value: Any) -> None:
    """Booleans are stored only when true (§1)."""
    if value is True:
        document[key] = True


def _pdf_response(title: str, invoice: Mapping[str, Any]) -> Response:
    lines = [
        title,
        "Kobling e-conomic sandbox",
        f"Customer: {invoice['recipient']['name']}",
        f"Date: {invoice['date']}",
        f"Net amount: {invoice['netAmount']:f} {invoice['currency']}",
        f"VAT amount: {invoice['vatAmount']:f} {invoice['currency']}",
        f"Total: {invoice['grossAmount']:f} {invoice['currency']}",
    ]
    return Response(_pdf_document(lines), media_type="application/pdf")

"""What a connector can be: the roles the engine talks to, and nothing system-specific.

A connector implements one or more of these protocols and declares which in its
``ConnectorSpec`` (see ``registry.py``); the engine and the web layer ask the registry and never
test ``if kind == "woocommerce"``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr, ValidationError

from kobling.accounting.plan import DocumentPlan, PlannedCustomer, PlannedPayment
from kobling.domain.order import Order, Refund
from kobling.errors import PermanentError, TransientError


class OrderSource(Protocol):
    """A system orders come from."""

    def fetch_order(self, source_id: str) -> dict[str, Any]:
        """The order as the source serves it now (the raw payload, for the log)."""
        ...

    def changed_orders(
        self, modified_after: datetime, statuses: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """Every order modified after the instant (in ``statuses`` if given), oldest first."""
        ...

    def normalize(self, payload: dict[str, Any]) -> Order:
        """The canonical order for a raw payload, or ``PermanentError`` saying what is wrong."""
        ...

    def fetch_refund(self, order_id: str, refund_id: str) -> dict[str, Any]: ...

    def normalize_refund(self, payload: dict[str, Any], currency: str) -> Refund: ...

    def close(self) -> None: ...


@runtime_checkable
class OrderNumberLookup(Protocol):
    """A source that finds an order by the number the shop shows, which may not be its id."""

    def order_by_number(self, number: str) -> dict[str, Any] | None:
        """The raw order whose number is ``number``, or None when the source has none."""
        ...


@dataclass(frozen=True)
class WebhookDelivery:
    """What an inbound delivery turned out to be."""

    status: Literal["ping", "accepted", "rejected", "ignored"]
    delivery_key: str
    topic: str = ""
    object_id: str | None = None
    detail: str = ""


class WebhookReceiver(Protocol):
    def receive(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery: ...


@dataclass(frozen=True)
class WebhookStatus:
    topic: str
    remote_id: str
    action: Literal["present", "created", "reactivated"]
    detail: str = ""


class WebhookRegistrar(Protocol):
    def ensure_webhooks(self, delivery_url: str) -> list[WebhookStatus]: ...


@dataclass(frozen=True)
class TargetDocument:
    """A document as it exists in the target."""

    id: str
    state: Literal["draft", "booked"]
    gross: Decimal | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetDocumentSummary:
    """One document in the target as reconciliation reads it (see ``documents_between``).

    ``reference`` is what Kobling wrote on it (the order number, or the credit note's own
    reference); ``number`` the target's document number (its record id while a draft has
    none); ``gross`` as the target carries it, so a credit note's is negative.
    """

    reference: str
    number: str
    kind: Literal["invoice", "credit_note"]
    state: Literal["draft", "booked"]
    gross: Decimal
    currency: str
    date: date


@dataclass(frozen=True)
class CustomerResult:
    number: str
    action: Literal["matched", "created", "updated", "collective"]
    notes: tuple[str, ...] = ()


class InvoiceTarget(Protocol):
    """A system invoices are created in."""

    def find_document(self, reference: str) -> TargetDocument | None:
        """The document carrying the shop's order reference, booked or draft, if any."""
        ...

    def ensure_customer(self, customer: PlannedCustomer) -> CustomerResult: ...

    def ensure_products(
        self, plan: DocumentPlan, known: Collection[str] = ()
    ) -> list[dict[str, Any]]:
        """Find or create the plan's products, except the product numbers in ``known``."""
        ...

    def create_document(
        self, plan: DocumentPlan, customer_number: str, *, first_attempt: bool = False
    ) -> TargetDocument:
        """Create the draft. It is looked up by reference first, unless ``first_attempt``
        says no earlier attempt of this transfer can have created it."""
        ...

    def book(self, document: TargetDocument, *, first_attempt: bool = False) -> TargetDocument:
        """Book a draft (checking first whether an earlier attempt did, unless
        ``first_attempt``)."""
        ...

    def update_document(
        self, document_id: str, plan: DocumentPlan, customer_number: str
    ) -> TargetDocument:
        """Overwrite a draft that was not booked yet with the order's new data."""
        ...

    def credit_document(
        self, document_id: str, reference: str, note: str, on: date
    ) -> TargetDocument:
        """Credit a booked document in full (a credit note of all its lines), once."""
        ...

    def delete_document(self, document_id: str) -> None:
        """Delete a draft that was not booked."""
        ...

    def register_payment(
        self, document: TargetDocument, payment: PlannedPayment, *, first_attempt: bool = False
    ) -> dict[str, Any]:
        """Record a payment against a booked invoice, once (looked up before it is created,
        unless ``first_attempt``)."""
        ...

    def documents_between(self, start: date, end: date) -> list[TargetDocumentSummary]:
        """Every invoice and credit note dated from ``start`` to ``end`` (both included),
        booked or draft, read from the target itself (for reconciliation)."""
        ...

    def close(self) -> None: ...


# --- testing a connection -----------------------------------------------------------------------

# A shop owner waits for the answer of "Test connection", so a remote that hangs is reported
# after this many seconds instead of the transfers' patient default.
CHECK_TIMEOUT = 10.0


@dataclass(frozen=True)
class ConnectionCheck:
    """What one cheap, authenticated read of the remote system showed."""

    ok: bool
    # Plain words a shop owner reads; never a secret.
    detail: str
    # When not ok: what to do about it.
    fix: str = ""
    # Machine-readable: "ok", "unreachable", "credentials_incomplete", "credentials_rejected",
    # "forbidden", "not_found", "unexpected".
    code: str = ""


class ConnectionChecker(Protocol):
    """``check_connection(base_url, credentials, settings)``: the convention of the builders."""

    def __call__(
        self, base_url: str, credentials: Mapping[str, Any], settings: Mapping[str, Any]
    ) -> ConnectionCheck: ...


# The clients' own codes for a refused request (``HttpClient`` uses the status; Tryton names the
# problem) → the check's code.
_REFUSED_CODES = {
    "401": "credentials_rejected",
    "403": "forbidden",
    "404": "not_found",
    "key_rejected": "credentials_rejected",
    "login_rejected": "credentials_rejected",
    "forbidden": "forbidden",
    "not_found": "not_found",
}
_REDIRECT_FIX = (
    "the address sends Kobling elsewhere (a redirect): enter it exactly as your browser shows "
    "it, with https:// and www. if it has them"
)
# Shorter secrets are not masked: masking "cs" would garble ordinary words in the text.
_MIN_MASKED = 6

CredentialsModel = TypeVar("CredentialsModel", bound=BaseModel)


def shown_url(url: str) -> str:
    """The address without a user, password, query or fragment, safe to show."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: nothing safe to quote
        return "the address in the settings"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _full_stop(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def sentence(text: str) -> str:
    """``text`` as a sentence: capital first letter, closing full stop."""
    text = _full_stop(text)
    return text[:1].upper() + text[1:]


def secret_values(credentials: BaseModel) -> list[str]:
    """Every secret in validated credentials (the fields typed ``SecretStr``)."""
    return [
        value.get_secret_value()
        for value in credentials.__dict__.values()
        if isinstance(value, SecretStr) and value.get_secret_value()
    ]


def _blank_required(credentials: BaseModel) -> list[str]:
    # A form sends an empty box as "", which the schema accepts but no remote does.
    blank: list[str] = []
    for name, info in type(credentials).model_fields.items():
        value = getattr(credentials, name)
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if info.is_required() and isinstance(text, str) and not text.strip():
            blank.append(name)
    return blank


def _listing(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def incomplete_credentials(
    remote: str,
    model: type[BaseModel],
    missing: Sequence[str],
    wrong: Sequence[str] = (),
    unknown: Sequence[str] = (),
) -> ConnectionCheck:
    """Name the fields to fill in (with their descriptions), never the values given."""

    def described(name: str) -> str:
        info = model.model_fields.get(name)
        return f"{name} ({info.description})" if info and info.description else name

    problems = [f"{_listing(missing)} missing"] if missing else []
    problems += [f"{_listing(wrong)} not valid"] if wrong else []
    problems += [f"{_listing(unknown)} unknown"] if unknown else []
    to_enter = [described(name) for name in [*missing, *wrong]]
    actions = [f"enter {_listing(to_enter)}"] if to_enter else []
    actions += [f"remove {_listing(unknown)}"] if unknown else []
    return ConnectionCheck(
        ok=False,
        detail=f"The {remote} credentials are incomplete: {'; '.join(problems)}.",
        fix=sentence(f"{' and '.join(actions)} in the system settings"),
        code="credentials_incomplete",
    )


def _from_validation_error(
    remote: str, model: type[BaseModel], error: ValidationError
) -> ConnectionCheck:
    found: dict[str, list[str]] = {"missing": [], "extra_forbidden": [], "wrong": []}
    # Only where the problem is (loc) and its kind: the message could quote the value given.
    for item in error.errors(include_input=False, include_url=False):
        name = ".".join(str(part) for part in item["loc"]) or "credentials"
        kind = item["type"] if item["type"] in found else "wrong"
        if name not in found[kind]:
            found[kind].append(name)
    return incomplete_credentials(
        remote, model, found["missing"], found["wrong"], found["extra_forbidden"]
    )


def failed_check(
    remote: str, base_url: str, error: Exception, fixes: Mapping[str, str] | None = None
) -> ConnectionCheck:
    """A client's error as a check; ``fixes`` replaces a client's fix per code where it speaks
    of transfers rather than of setting up a connection."""
    tested = f"Tested {shown_url(base_url)}"
    if isinstance(error, TransientError):
        code, fix = "unreachable", error.fix
    elif isinstance(error, PermanentError):
        code, fix = _REFUSED_CODES.get(error.code, "unexpected"), error.fix
        if error.code.startswith("3"):
            code, fix = "not_found", _REDIRECT_FIX
    else:
        # The message of an unknown error may quote a header or URL holding a key: the class
        # name only.
        return ConnectionCheck(
            ok=False,
            detail=f"{tested}: testing the {remote} connection failed with an unexpected error "
            f"({type(error).__name__}).",
            fix="Try again; if it keeps failing, report this to Kobling with the error's name.",
            code="unexpected",
        )
    fix = (fixes or {}).get(code) or fix
    return ConnectionCheck(
        ok=False, detail=f"{tested}: {_full_stop(error.reason)}", fix=sentence(fix), code=code
    )


def without_secrets(check: ConnectionCheck, secrets: Sequence[str]) -> ConnectionCheck:
    """Mask any secret a remote echoed back (an error page quoting the request URL)."""
    detail, fix = check.detail, check.fix
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _MIN_MASKED:
            detail, fix = detail.replace(secret, "•••"), fix.replace(secret, "•••")
    return replace(check, detail=detail, fix=fix)


def run_check(
    remote: str,
    base_url: str,
    model: type[CredentialsModel],
    credentials: Mapping[str, Any],
    probe: Callable[[CredentialsModel], ConnectionCheck],
    fixes: Mapping[str, str] | None = None,
) -> ConnectionCheck:
    """Validate the credentials, run ``probe`` with them, and never raise for remote trouble.

    Each connector's ``check_connection`` is this around its one cheap read; whatever comes
    back has every secret of the credentials masked.
    """
    try:
        parsed = model.model_validate(dict(credentials))
    except ValidationError as error:
        return _from_validation_error(remote, model, error)
    if blank := _blank_required(parsed):
        return incomplete_credentials(remote, model, blank)
    try:
        result = probe(parsed)
    except Exception as error:
        result = failed_check(remote, base_url, error, fixes)
    return without_secrets(result, secret_values(parsed))

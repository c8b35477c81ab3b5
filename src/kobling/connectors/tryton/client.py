"""HTTP access to Tryton 8.2's REST API with an application key (fact sheet: apis/tryton.md).

Tryton runs as a separate server (GPL boundary: no ``trytond`` import here). Its REST API:

* ``GET  /<db>/rest/model/<model>?d=<domain>&f=<field>&s=<limit>&p=<offset>&o=<order>`` search
  (domain and order are base64url-encoded JSON);
* ``GET  /<db>/rest/model/<model>/<id>`` read; ``POST /<db>/rest/model/<model>`` create;
  ``PUT`` write; ``DELETE`` delete;
* ``POST /<db>/rest/model/<model>/<id>/<method>`` calls a button or method on one record
  (``post`` an invoice), ``POST /<db>/rest/model/<model>/<method>`` a class method;
* ``GET  /<db>/rest/report/<report>/<id>`` renders a report (the invoice document).

``Authorization: Bearer <key>`` (a validated ``res.user.application`` with application
``rest``); the context travels as ``X-Tryton-Context: base64url(json)`` (``company``,
``active_test``). Values use Tryton's JSON extensions: a Decimal is
``{"__class__": "Decimal", "decimal": "12.50"}``, a date ``{"__class__": "date", ...}``; this
client converts both ways so callers use ``Decimal`` and ``date`` (a float is refused).

Errors: a user error (closed period, a value outside a field's domain, a warning) is HTTP 400
with ``{"status", "message", "description"}``; a bad key 401; a method not exposed 403; an
unknown database or record 404. ``explain`` turns each into a plain reason and fix.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from kobling.connectors.http import HttpClient
from kobling.errors import PermanentError, TransientError

# --- Tryton's JSON extensions -------------------------------------------------------------------


def encode(value: Any) -> Any:
    """Turn Decimals, dates and times into Tryton's JSON objects (recursively)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        raise TypeError("floats must not be sent to Tryton: use Decimal for amounts")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value} to Tryton")
        return {"__class__": "Decimal", "decimal": f"{value:f}"}
    if isinstance(value, datetime):
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, time):
        return {
            "__class__": "time",
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, timedelta):
        return {"__class__": "timedelta", "seconds": encode(Decimal(str(value.total_seconds())))}
    if isinstance(value, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode()}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v) for v in value]
    raise TypeError(f"cannot send a {type(value).__name__} to Tryton")


def _decode_object(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(str(obj["decimal"]))
    if kind == "date":
        return date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj["hour"],
            obj["minute"],
            obj["second"],
            obj["microsecond"],
        )
    if kind == "time":
        return time(obj["hour"], obj["minute"], obj["second"], obj["microsecond"])
    if kind == "timedelta":
        return timedelta(seconds=float(obj["seconds"]))
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def decode(raw: bytes | str) -> Any:
    """Parse a Tryton JSON answer: Decimals, dates and times come back as Python objects."""
    return json.loads(raw, object_hook=_decode_object, parse_float=Decimal)


def dumps(value: Any) -> bytes:
    return json.dumps(encode(value), separators=(",", ":"), ensure_ascii=True).encode()


def b64(value: Any) -> str:
    """base64url of Tryton JSON, as the ``d``/``o`` parameters and the context header want."""
    return base64.urlsafe_b64encode(dumps(value)).decode()


# --- errors in plain words ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One Tryton error explained: ``code`` lets the caller react (``closed_period``)."""

    code: str
    reason: str
    fix: str


_CLOSED_PERIOD = re.compile(
    r'reopen the period "(?P<period>[^"]+)" of company "(?P<company>[^"]+)" '
    r'for the date "(?P<date>[^"]+)"'
)
_NO_PERIOD = re.compile(
    r'create a period for the date "(?P<date>[^"]+)" and company "(?P<company>[^"]+)"'
)
_NO_FISCAL_YEAR = re.compile(
    r'create a fiscal year for the date "(?P<date>[^"]+)" and company "(?P<company>[^"]+)"'
)
_CLOSED_FISCAL_YEAR = re.compile(
    r'reopen the fiscal year "(?P<fiscalyear>[^"]+)" of company "(?P<company>[^"]+)" '
    r'for the date "(?P<date>[^"]+)"'
)
_NUMBER_AFTER = re.compile(r'set an invoice date after "(?P<date>[^"]+)"')
_EXCHANGE_ACCOUNT = re.compile(
    r'define a currency exchange (?P<kind>credit|debit) account for "(?P<company>[^"]+)"'
)
_PAYMENT_TERM_PAST = re.compile(r"generates a payment date .* in the past")
_DEFAULT_TAXES = re.compile(r"does not have the default taxes")
_FUTURE_DATE = re.compile(r"have an invoice date in the future")
_QUOTED_NAME = re.compile(r"^'[\w.]+'$")
_DOMAIN = re.compile(r'The value "(?P<value>[^"]*)" for field "(?P<field>[^"]+)"')


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = decode(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _html_text(response: httpx.Response) -> str:
    """The human part of werkzeug's HTML error page (``<p>...</p>``), if any."""
    match = re.search(r"<p>(.*?)</p>", response.text, re.S)
    return html.unescape(re.sub(r"\s+", " ", match.group(1)).strip()) if match else ""


REJECTED_FIX = (
    "correct what Tryton's message names, in Tryton or in the connection settings, then retry "
    "the transfer"
)


def user_error_problem(
    message: str, description: str = "", *, invalid_value: bool = True
) -> Problem | None:
    """Explain a Tryton user error or warning by its message (REST and JSON-RPC alike)."""
    said = message + (f" ({description})" if description else "")
    if match := _CLOSED_PERIOD.search(message):
        period, company, when = match["period"], match["company"], match["date"]
        return Problem(
            "closed_period",
            f'Tryton cannot book on {when}: the accounting period "{period}" of {company} is '
            "closed",
            f'reopen period "{period}" in Tryton (Financial > Configuration > Fiscal Years > '
            "Periods) if the document belongs there, then retry the transfer",
        )
    if match := _CLOSED_FISCAL_YEAR.search(message):
        return Problem(
            "closed_period",
            f'Tryton cannot book on {match["date"]}: the fiscal year "{match["fiscalyear"]}" '
            f"of {match['company']} is closed",
            "date the document in an open fiscal year, or reopen the fiscal year in Tryton",
        )
    if match := _NO_PERIOD.search(message) or _NO_FISCAL_YEAR.search(message):
        return Problem(
            "missing_period",
            f"Tryton has no open period for {match['date']} ({match['company']}): {message}",
            "create the fiscal year with its periods and invoice sequences in Tryton "
            "(Financial > Configuration > Fiscal Years), then retry the transfer",
        )
    if match := _EXCHANGE_ACCOUNT.search(message):
        return Problem(
            "exchange_account",
            f"Tryton cannot post a document in a foreign currency: no currency exchange "
            f"{match['kind']} account is set for {match['company']}",
            "set the currency exchange credit and debit accounts in Tryton (Financial > "
            "Configuration > Configuration), then retry the transfer",
        )
    if _PAYMENT_TERM_PAST.search(message):
        return Problem(
            "payment_term_past",
            f"Tryton warns that the invoice's payment term gives a date in the past: {message}",
            "accept the warning for this invoice, or invoice back-dated orders without a "
            "payment term",
        )
    if _NUMBER_AFTER.search(message):
        return Problem(
            "invoice_date_order",
            f"Tryton numbers invoices in date order and refused an earlier date: {message}",
            "date the invoice on or after the last posted invoice of that sequence",
        )
    if _DEFAULT_TAXES.search(message):
        return Problem(
            "tax_warning",
            f"Tryton warns that the invoice's taxes differ from the defaults: {message}",
            "give the product the tax Kobling chose (or a customer tax rule), or accept the "
            "warning for this invoice in Tryton",
        )
    if _FUTURE_DATE.search(message):
        return Problem(
            "invoice_date_future",
            f"Tryton warns that the invoice date lies in the future: {message}",
            "date the invoice today or earlier (the seller's local date), or accept the warning "
            "in Tryton",
        )
    if invalid_value and (match := _DOMAIN.search(message)):
        return Problem(
            "invalid_value",
            f"Tryton refused the value of {match['field']!r}: {said}",
            "check the master data in Tryton (account, tax, currency, company)",
        )
    return None


def problem_of(response: httpx.Response) -> Problem:
    """Explain an error answer from Tryton's REST API."""
    status = response.status_code
    path = response.request.url.path if response.request is not None else ""
    if status == 401:
        return Problem(
            "key_rejected",
            "Tryton rejected the application key (401)",
            "the key was cancelled or belongs to another database: in Tryton open "
            "User > Preferences > Applications, validate or create a REST key, and enter it in "
            "the system settings (a sandbox made by `kobling tryton init` has it in "
            "kobling-tryton.json)",
        )
    if status == 403:
        return Problem(
            "forbidden",
            f"Tryton refused {path} (403): the method is not callable over REST or the key's "
            "user lacks the access right",
            "give the key's user the needed group in Tryton (e.g. Account Administration)",
        )
    if status == 404:
        return Problem(
            "not_found",
            f"Tryton has nothing at {path} (404): the database name in the URL is wrong or the "
            "record does not exist (any more)",
            "check the Tryton URL (http://host:port/<database>/) in the system settings",
        )
    body = _json_body(response)
    message = str(body.get("message") or "") or _html_text(response)
    description = str(body.get("description") or "")
    said = message + (f" ({description})" if description else "")
    problem = user_error_problem(message, description, invalid_value=status == 400)
    if problem is not None:
        return problem
    if status >= 500:
        hint = ""
        if _QUOTED_NAME.match(message):
            # A KeyError: Tryton answers 500 to an unknown field or model name.
            hint = " (an unknown field or model name causes this)"
        return Problem(
            "server_error",
            f"Tryton had an internal error ({status})" + (f": {said}" if said else "") + hint,
            "see the Tryton server log; Kobling retries what is safe to retry",
        )
    return Problem(
        "rejected",
        f"Tryton answered {status}" + (f": {said}" if said else ""),
        REJECTED_FIX,
    )


def explain(response: httpx.Response) -> tuple[str, str]:
    problem = problem_of(response)
    return (problem.reason, problem.fix)


class _TrytonHttp(HttpClient):
    """HttpClient whose permanent errors carry Tryton's problem code (``closed_period``)."""

    def _classify(self, method: str, response: httpx.Response) -> TransientError | PermanentError:
        error = super()._classify(method, response)
        if isinstance(error, PermanentError):
            error.code = problem_of(response).code
        return error


# --- the client -----------------------------------------------------------------------------------

Domain = Sequence[Any]


class TrytonClient:
    """Talk to one Tryton database over REST.

    ``url`` is the database's base URL (``http://127.0.0.1:8765/kobling/``); ``company`` goes
    into every request's context (Tryton needs it for defaults such as the invoice currency).
    """

    def __init__(
        self,
        url: str,
        key: str,
        *,
        company: int | None = None,
        context: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/"
        parts = urlsplit(self.url)
        if parts.scheme not in {"http", "https"} or parts.path.strip("/") == "":
            raise ValueError(
                f"{url!r} is not a Tryton database URL: expected http://host:port/<database>/"
            )
        self._key = key
        self._timeout = timeout
        self._transport = transport
        self.context: dict[str, Any] = dict(context or {})
        if company is not None:
            self.context.setdefault("company", company)
        self._clients: dict[str, HttpClient] = {}

    # Tryton reads the context from a header, and HttpClient's headers are per client: one
    # HttpClient (connection pool) per distinct context, usually one or two.
    def _http(self, context: Mapping[str, Any] | None) -> HttpClient:
        merged = {**self.context, **(context or {})}
        header = b64(merged) if merged else ""
        client = self._clients.get(header)
        if client is None:
            headers = {"Authorization": f"Bearer {self._key}"}
            if header:
                headers["X-Tryton-Context"] = header
            options: dict[str, Any] = {}
            if self._timeout is not None:
                options["timeout"] = self._timeout
            client = _TrytonHttp(
                base_url=self.url + "rest/",
                remote="Tryton",
                headers=headers,
                explain=explain,
                transport=self._transport,
                **options,
            )
            self._clients[header] = client
        return client

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, Any]] | None = None,
        body: Any = None,
        context: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        try:
            return self._http(context).request(
                method,
                path,
                params=params,
                # Pre-encoded: HttpClient writes it as JSON with the JSON Content-Type, which
                # Tryton requires on a body (and refuses on a GET without one).
                json_body=encode(body) if body is not None else None,
            )
        except TransientError as exc:
            if exc.code == "connect":
                raise TransientError(
                    f"Tryton at {self.url} could not be reached (connection refused or no route)",
                    "start the Tryton server (`kobling tryton serve DIR` for a local sandbox) "
                    "and check the URL in the system settings; Kobling retries by itself",
                    code="connect",
                ) from exc
            raise

    @staticmethod
    def _fields(fields: Iterable[str] | None) -> list[tuple[str, Any]]:
        return [("f", name) for name in fields or ()]

    # --- model access -------------------------------------------------------------------------

    def search(
        self,
        model: str,
        domain: Domain = (),
        *,
        fields: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        order: Sequence[tuple[str, str]] | None = None,
        active_test: bool = True,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Records matching ``domain`` (Tryton's list syntax), with ``fields`` read.

        ``active_test=False`` also finds deactivated records (a product looked up by SKU must
        be searched this way, or a deactivated one is created again).
        """
        params: list[tuple[str, Any]] = [("d", b64(list(domain)))]
        params += self._fields(fields)
        if limit is not None:
            params.append(("s", limit))
        if offset:
            params.append(("p", offset))
        if order:
            params.append(("o", b64([list(item) for item in order])))
        ctx = dict(context or {})
        if not active_test:
            ctx["active_test"] = False
        result = decode(self._request("GET", f"model/{model}", params=params, context=ctx).content)
        return list(result)

    def read(
        self,
        model: str,
        record_id: int,
        *,
        fields: Iterable[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        response = self._request(
            "GET", f"model/{model}/{record_id}", params=self._fields(fields), context=context
        )
        return dict(decode(response.content))

    def create(
        self,
        model: str,
        values: Mapping[str, Any],
        *,
        fields: Iterable[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create one record (no on_change is run: send every required value) and read it."""
        response = self._request(
            "POST", f"model/{model}", params=self._fields(fields), body=values, context=context
        )
        return dict(decode(response.content)) if response.content else {}

    def write(
        self,
        model: str,
        record_id: int,
        values: Mapping[str, Any],
        *,
        fields: Iterable[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        response = self._request(
            "PUT",
            f"model/{model}/{record_id}",
            params=self._fields(fields),
            body=values,
            context=context,
        )
        return dict(decode(response.content)) if response.content else {}

    def delete(
        self, model: str, record_id: int, *, context: Mapping[str, Any] | None = None
    ) -> None:
        self._request("DELETE", f"model/{model}/{record_id}", context=context)

    def call(
        self,
        model: str,
        method: str,
        record_id: int | None = None,
        *,
        arguments: Mapping[str, Any] | None = None,
        fields: Iterable[str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call a button or method: on one record (``post`` an invoice) or on the model.

        For a record, a method that returns nothing answers with the record read back
        (``fields`` choose what is read).
        """
        path = f"model/{model}/{record_id}/{method}" if record_id else f"model/{model}/{method}"
        response = self._request(
            "POST",
            path,
            params=self._fields(fields),
            body=dict(arguments or {}),
            context=context,
        )
        return decode(response.content) if response.content else None

    def report(self, report: str, record_id: int) -> bytes:
        """A rendered report (``account.invoice`` gives the invoice document, ODT by default)."""
        return self._request("GET", f"report/{report}/{record_id}").content

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self) -> TrytonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The HTTP layer every connector's client uses: timeouts, classification, safe retries.

Retrying is where duplicates are born (a lost response after a successful write, retried
blindly). So this layer retries on its own only what is certainly safe:

* any request the remote refused before doing anything: 429 with ``Retry-After``, or a
  connection that could not be opened;
* idempotent methods (GET, PUT, DELETE) after a timeout or a 5xx.

A POST whose outcome is uncertain (timeout, 5xx, dropped connection) is raised as an
``uncertain`` ``TransientError``; the engine retries the step, and the step looks the document
up by its reference before it creates anything.

Pacing is not done here but plugged in: ``before_send`` runs before every attempt (a limiter
shared by all workers waits there for its slot) and ``on_rate_limited`` hears every 429 with
its ``Retry-After``, so this module stays free of database code (see
:mod:`kobling.store.call_budgets` and ``kobling.engine.connectors``).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import httpx

from kobling.connectors.jsonutil import dumps
from kobling.errors import PermanentError, TransientError

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# The process-wide request timeout in seconds; the engine shortens it in tests so an
# injected "timeout" fault does not cost half a minute.
_default_timeout = 30.0


def set_default_timeout(seconds: float) -> None:
    global _default_timeout
    _default_timeout = seconds


def default_timeout() -> float:
    return _default_timeout


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently the client retries safe requests itself."""

    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0
    # A Retry-After longer than this is not slept through in the client: the error goes up
    # and the engine's durable back-off waits instead of holding a worker thread.
    max_retry_after: float = 10.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        backoff = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return float(backoff * (0.5 + random.random() / 2))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read ``Retry-After`` as seconds or as an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


ErrorExplainer = Callable[[httpx.Response], tuple[str, str]]
# Runs before every attempt, and may block until the caller's turn to send.
BeforeSend = Callable[[], None]
# Hears a 429 with its Retry-After in seconds (None when the remote gave none).
OnRateLimited = Callable[[float | None], None]


@runtime_checkable
class CallLimitable(Protocol):
    """A connector whose calls can be paced by a limiter that the engine plugs in.

    ``calls_per_minute`` comes from the connector's own settings (None: no limit); the engine
    passes hooks that share the budget across threads and processes.
    """

    @property
    def calls_per_minute(self) -> int | None: ...

    def limit_calls(self, before_send: BeforeSend, on_rate_limited: OnRateLimited) -> None: ...


def default_explainer(response: httpx.Response) -> tuple[str, str]:
    return (f"the remote answered {response.status_code}", "")


@dataclass
class HttpClient:
    """A small wrapper around ``httpx.Client`` with Kobling's retry and error rules.

    ``remote`` names the system in messages ("e-conomic", "WooCommerce"); ``explain`` turns an
    error response into a plain reason and fix using the remote's own error format.
    """

    base_url: str
    remote: str
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: httpx.Auth | tuple[str, str] | None = None
    timeout: float = field(default_factory=default_timeout)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    explain: ErrorExplainer = default_explainer
    sleep: Callable[[float], None] = time.sleep
    transport: httpx.BaseTransport | None = None
    before_send: BeforeSend | None = None
    on_rate_limited: OnRateLimited | None = None
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url,
                headers=dict(self.headers),
                auth=self.auth,
                timeout=self.timeout,
                transport=self.transport,
                follow_redirects=False,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send a request, retrying what is safe, and return a 2xx response or raise."""
        method = method.upper()
        attempt = 0
        while True:
            attempt += 1
            if self.before_send is not None:
                self.before_send()
            try:
                response = self.client.request(
                    method,
                    path,
                    params=params,
                    content=dumps(json_body) if json_body is not None else content,
                    headers={"Content-Type": "application/json"} if json_body is not None else None,
                )
            except httpx.ConnectError as exc:
                # Nothing reached the remote: always safe to try again.
                error = TransientError(
                    f"{self.remote} could not be reached ({exc.__class__.__name__})",
                    f"check that {self.remote} is online; Kobling retries by itself",
                    code="connect",
                )
            except httpx.TransportError as exc:
                error = TransientError(
                    f"no answer from {self.remote} ({exc.__class__.__name__})",
                    f"{self.remote} may be slow or down; Kobling retries by itself",
                    uncertain=method not in IDEMPOTENT,
                )
            else:
                if response.is_success:
                    return response
                classified = self._classify(method, response)
                if isinstance(classified, PermanentError):
                    raise classified
                error = classified
                if response.status_code == 429 and self.on_rate_limited is not None:
                    self.on_rate_limited(error.retry_after)
            if not self._may_retry(method, error, attempt):
                raise error
            self.sleep(self.retry.delay(attempt, error.retry_after))

    def _may_retry(self, method: str, error: TransientError, attempt: int) -> bool:
        if attempt >= self.retry.attempts or error.uncertain:
            return False
        # Uncertain outcomes were handled above; what is left was certainly not carried out
        # (connect error, 429) or is idempotent.
        return error.retry_after is None or error.retry_after <= self.retry.max_retry_after

    def _classify(self, method: str, response: httpx.Response) -> TransientError | PermanentError:
        status = response.status_code
        reason, fix = self.explain(response)
        if status == 429:
            return TransientError(
                f"{self.remote} asked us to slow down (429)",
                "nothing to do: Kobling waits as long as the remote asks",
                code="429",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status in RETRY_STATUSES:
            return TransientError(
                reason or f"{self.remote} had a temporary error ({status})",
                fix or f"{self.remote} may be having trouble; Kobling retries by itself",
                code=str(status),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                uncertain=method not in IDEMPOTENT,
            )
        return PermanentError(reason, fix, code=str(status))

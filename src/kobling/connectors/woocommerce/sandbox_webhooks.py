"""Webhook subscriptions and delivery for the WooCommerce sandbox (fact sheet §7).

What is simulated, because receivers must cope with it:

* the delivery request exactly as ``WC_Webhook::deliver()`` builds it: compact JSON encoded
  like ``wp_json_encode`` (``/`` escaped as ``\\/``), the ``X-WC-Webhook-*`` headers and the
  HMAC signature over the raw bytes;
* the payload is the resource *at delivery time*, and a delivery still pending for the same
  (webhook, resource) absorbs later events (Action Scheduler de-duplication);
* ``X-WC-Webhook-Delivery-ID`` is ``wp_hash(webhook_id . time())``: two deliveries of one
  webhook in the same second share it, so it is no unique event id;
* no retries; consecutive failures are counted and the webhook is disabled on the failure
  that arrives while ``failure_count > 5``; any success resets the count;
* the ping on creation/activation: a form body ``webhook_id=<id>``, no signature;
* faults a network adds: duplicated deliveries (same body, same delivery id), reordering
  (random delay) and drops.

Delivery runs on one background thread with ``httpx.Client`` so a REST request never waits
for a receiver.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

from kobling.connectors.woocommerce import sandbox_orders
from kobling.connectors.woocommerce.signature import sign

__all__ = [
    "MAX_DELIVERY_FAILURES",
    "TOPIC_HOOKS",
    "USER_AGENT",
    "DeliveryHost",
    "DeliveryWorker",
    "Job",
    "Prepared",
    "Webhook",
    "WebhookFaultDecision",
    "delivery_id",
    "prepare_event",
    "prepare_ping",
    "register_outcome",
    "valid_topic",
    "wp_json_encode",
]

Json = dict[str, Any]

WP_VERSION = "6.7.1"
USER_AGENT = f"WooCommerce/{sandbox_orders.WC_VERSION} Hookshot (WordPress/{WP_VERSION})"
MAX_DELIVERY_FAILURES = 5
"""``woocommerce_max_webhook_delivery_failures`` default."""

DELIVERY_TIMEOUT = 10.0

TOPIC_HOOKS: dict[str, list[str]] = {
    "order.created": ["woocommerce_new_order"],
    "order.updated": [
        "woocommerce_update_order",
        "woocommerce_order_refunded",
        "woocommerce_delete_order_refund",
    ],
    "order.deleted": ["wp_trash_post"],
    "order.restored": ["untrashed_post"],
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product"],
    "product.updated": ["woocommerce_process_product_meta", "woocommerce_update_product"],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
}


def valid_topic(topic: str) -> bool:
    """Core topics and custom ``action.<hook>`` topics are valid (``wc_is_webhook_valid_topic``)."""
    if topic.startswith("action.") and len(topic) > len("action."):
        return True
    return topic in TOPIC_HOOKS


def wp_json_encode(payload: Any) -> bytes:
    """Encode like PHP ``json_encode`` without flags: compact, ASCII only, ``/`` as ``\\/``.

    Replacing ``/`` after encoding is safe: a slash can only occur inside JSON strings.
    """
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def delivery_id(webhook_id: int, now: float, salt: bytes) -> str:
    """``wp_hash($webhook_id . time())``: an HMAC-MD5 hex string, same within one second."""
    message = f"{webhook_id}{int(now)}".encode()
    return hmac.new(salt, message, hashlib.md5).hexdigest()


@dataclass
class Webhook:
    """One subscription. ``secret`` is write-only: :meth:`to_json` never returns it."""

    id: int
    name: str
    status: str
    topic: str
    delivery_url: str
    secret: str
    created_gmt: datetime
    modified_gmt: datetime
    failure_count: int = 0

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1] if "." in self.topic else ""

    def to_json(self, rest_base: str) -> Json:
        """The REST representation (fact sheet §7 fields); ``rest_base`` ends in ``wc/v3/``."""
        created_local, created_gmt = sandbox_orders.wc_dates(self.created_gmt)
        modified_local, modified_gmt = sandbox_orders.wc_dates(self.modified_gmt)
        hooks = TOPIC_HOOKS.get(self.topic, [self.topic.removeprefix("action.")])
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "topic": self.topic,
            "resource": self.resource,
            "event": self.event,
            "hooks": list(hooks),
            "delivery_url": self.delivery_url,
            "date_created": created_local,
            "date_created_gmt": created_gmt,
            "date_modified": modified_local,
            "date_modified_gmt": modified_gmt,
            "_links": {
                "self": [{"href": f"{rest_base}webhooks/{self.id}"}],
                "collection": [{"href": f"{rest_base}webhooks"}],
            },
        }


def register_outcome(webhook: Webhook, success: bool) -> None:
    """Apply ``WC_Webhook::failed_delivery`` / success semantics to the failure counter.

    The check happens *before* incrementing, so with the default of 5 the webhook is disabled
    on the 7th consecutive failure (the docs say "after 5").
    """
    if success:
        webhook.failure_count = 0
    elif webhook.failure_count > MAX_DELIVERY_FAILURES:
        webhook.status = "disabled"
    else:
        webhook.failure_count += 1


@dataclass(frozen=True)
class Prepared:
    """A ready HTTP request; kept for duplicates so they resend identical bytes."""

    url: str
    body: bytes
    headers: dict[str, str]
    delivery_id: str | None


def prepare_event(
    webhook: Webhook, payload: Json, *, site_url: str, now: float, salt: bytes
) -> Prepared:
    """Build the signed delivery request ``WC_Webhook::deliver()`` sends."""
    body = wp_json_encode(payload)
    the_id = delivery_id(webhook.id, now, salt)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-WC-Webhook-Source": site_url,
        "X-WC-Webhook-Topic": webhook.topic,
        "X-WC-Webhook-Resource": webhook.resource,
        "X-WC-Webhook-Event": webhook.event,
        "X-WC-Webhook-Signature": sign(body, webhook.secret),
        "X-WC-Webhook-ID": str(webhook.id),
        "X-WC-Webhook-Delivery-ID": the_id,
    }
    return Prepared(webhook.delivery_url, body, headers, the_id)


def prepare_ping(webhook: Webhook, *, site_url: str) -> Prepared:
    """``WC_Webhook::deliver_ping()``: a plain form post, no WooCommerce headers, no signature."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": f"WordPress/{WP_VERSION}; {site_url.rstrip('/')}",
    }
    body = urlencode({"webhook_id": webhook.id}).encode("ascii")
    return Prepared(webhook.delivery_url, body, headers, None)


@dataclass(frozen=True)
class WebhookFaultDecision:
    """What the network does to one delivery: delay it, drop it, or deliver it twice."""

    delay: float = 0.0
    drop: bool = False
    duplicate: bool = False


@dataclass(order=True)
class Job:
    """A queued delivery; ordered by due time, then by enqueue order."""

    due: float
    seq: int
    webhook_id: int = field(compare=False)
    topic: str = field(compare=False)
    resource_id: int | None = field(compare=False, default=None)
    ping: bool = field(compare=False, default=False)
    fault: WebhookFaultDecision = field(compare=False, default_factory=WebhookFaultDecision)
    prepared: Prepared | None = field(compare=False, default=None)
    duplicate: bool = field(compare=False, default=False)


class DeliveryHost(Protocol):
    """The sandbox side of delivery: builds requests from current state, records outcomes."""

    def prepare(self, job: Job) -> Prepared | None: ...

    def record(
        self, job: Job, prepared: Prepared, status_code: int | None, error: str | None
    ) -> None: ...


class DeliveryWorker:
    """One background thread that sends due jobs in due-time order."""

    def __init__(
        self,
        host: DeliveryHost,
        decide: Callable[[str], WebhookFaultDecision],
        *,
        timeout: float = DELIVERY_TIMEOUT,
    ) -> None:
        self._host = host
        self._decide = decide
        self._timeout = timeout
        self._cond = threading.Condition()
        self._heap: list[Job] = []
        self._pending: set[tuple[int, int | None]] = set()
        self._in_flight = 0
        self._closed = False
        self._seq = itertools.count()
        self._thread = threading.Thread(target=self._run, name="wc-sandbox-webhooks", daemon=True)
        self._thread.start()

    def enqueue(self, webhook_id: int, topic: str, resource_id: int, url: str) -> bool:
        """Queue a delivery unless one for the same (webhook, resource) is still pending.

        Returns False when merged: the pending delivery will carry the latest state anyway.
        """
        key = (webhook_id, resource_id)
        with self._cond:
            if key in self._pending:
                return False
            self._pending.add(key)
            fault = self._decide(url)
            job = Job(time.monotonic() + fault.delay, next(self._seq), webhook_id, topic)
            job.resource_id, job.fault = resource_id, fault
            self._push(job)
        return True

    def enqueue_ping(self, webhook_id: int) -> None:
        """Queue the activation ping (never merged, never faulted)."""
        with self._cond:
            self._push(Job(time.monotonic(), next(self._seq), webhook_id, "ping", ping=True))

    def wait_idle(self, timeout: float) -> None:
        """Block until nothing is queued or in flight; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self._heap) + self._in_flight} deliveries pending")
                self._cond.wait(remaining)

    def close(self) -> None:
        """Stop the thread; queued deliveries are abandoned."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=self._timeout + 1)

    def _push(self, job: Job) -> None:
        heapq.heappush(self._heap, job)
        self._cond.notify_all()

    def _next_job(self) -> Job | None:
        with self._cond:
            while not self._closed:
                if self._heap:
                    wait = self._heap[0].due - time.monotonic()
                    if wait <= 0:
                        job = heapq.heappop(self._heap)
                        if not job.ping and not job.duplicate:
                            self._pending.discard((job.webhook_id, job.resource_id))
                        self._in_flight += 1
                        return job
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout, follow_redirects=False) as client:
            while (job := self._next_job()) is not None:
                try:
                    self._deliver(client, job)
                finally:
                    with self._cond:
                        self._in_flight -= 1
                        self._cond.notify_all()

    def _deliver(self, client: httpx.Client, job: Job) -> None:
        prepared = job.prepared or self._host.prepare(job)
        if prepared is None:
            return
        if job.fault.drop:
            self._host.record(job, prepared, None, "dropped (fault injection)")
            return
        try:
            response = client.post(prepared.url, content=prepared.body, headers=prepared.headers)
        except httpx.HTTPError as exc:
            self._host.record(job, prepared, None, f"{type(exc).__name__}: {exc}")
        else:
            self._host.record(job, prepared, response.status_code, None)
        if job.fault.duplicate and not job.duplicate:
            self._queue_duplicate(job, prepared)

    def _queue_duplicate(self, job: Job, prepared: Prepared) -> None:
        """Send the very same request again shortly after (a proxy or network retry)."""
        with self._cond:
            copy = Job(time.monotonic() + 0.05, next(self._seq), job.webhook_id, job.topic)
            copy.resource_id, copy.prepared, copy.duplicate = job.resource_id, prepared, True
            self._push(copy)

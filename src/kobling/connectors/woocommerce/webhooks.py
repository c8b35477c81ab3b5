"""Inbound WooCommerce webhooks and keeping the shop's webhooks registered (§7).

Webhooks are hints: a valid delivery only says "order N changed"; the engine fetches the order
by id. The ping WooCommerce sends when a webhook is created is a form body without signature
and must be answered 200.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from kobling.connectors.base import WebhookDelivery, WebhookStatus
from kobling.connectors.woocommerce.client import WooCommerceClient, read_json
from kobling.connectors.woocommerce.settings import WooCommerceCredentials
from kobling.connectors.woocommerce.signature import verify

TOPICS = ("order.created", "order.updated")


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered.get(name.lower(), "")


class WooCommerceWebhooks:
    """Checks signatures and reads the topic and order id of a delivery."""

    def __init__(
        self, base_url: str, credentials: Mapping[str, Any], settings: Mapping[str, Any]
    ) -> None:
        creds = WooCommerceCredentials.model_validate(dict(credentials))
        self._secret = creds.webhook_secret.get_secret_value()

    def receive(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        digest = hashlib.sha256(body).hexdigest()
        delivery_id = _header(headers, "X-WC-Webhook-Delivery-ID")
        topic = _header(headers, "X-WC-Webhook-Topic")
        if body.startswith(b"webhook_id=") and not _header(headers, "X-WC-Webhook-Signature"):
            return WebhookDelivery("ping", f"ping:{digest}", detail="webhook ping")
        signature = _header(headers, "X-WC-Webhook-Signature")
        if not signature:
            return WebhookDelivery(
                "rejected", f"rejected:{digest}", topic, detail="no X-WC-Webhook-Signature header"
            )
        if not self._secret or not verify(body, self._secret, signature):
            return WebhookDelivery(
                "rejected",
                f"rejected:{digest}",
                topic,
                detail="signature does not match the webhook secret",
            )
        try:
            payload = json.loads(body)
            object_id = str(int(payload["id"]))
        except (ValueError, KeyError, TypeError):
            return WebhookDelivery("rejected", f"rejected:{digest}", topic, detail="not an order")
        # X-WC-Webhook-Delivery-ID is wp_hash(webhook_id . time()): the same for every delivery
        # of one webhook within a second (§7). Together with the body it identifies a delivery;
        # a duplicated delivery (same id, same body) still maps to the same key.
        key = f"{delivery_id}:{digest[:32]}" if delivery_id else digest
        if not topic.startswith("order.") or topic == "order.deleted":
            return WebhookDelivery("ignored", key, topic, object_id, f"topic {topic} not used")
        return WebhookDelivery("accepted", key, topic, object_id)


class WooCommerceWebhookRegistrar:
    """Registers Kobling's webhooks in the shop and re-enables ones the shop disabled.

    WooCommerce disables a webhook after repeated failed deliveries and never retries (§7), so
    every poll checks the webhooks and reports what it had to repair.
    """

    def __init__(
        self, base_url: str, credentials: Mapping[str, Any], settings: Mapping[str, Any]
    ) -> None:
        creds = WooCommerceCredentials.model_validate(dict(credentials))
        self._secret = creds.webhook_secret.get_secret_value()
        self.client = WooCommerceClient(
            base_url,
            creds.consumer_key.get_secret_value(),
            creds.consumer_secret.get_secret_value(),
            auth_in_query=bool(settings.get("auth_in_query", False)),
        )

    def ensure_webhooks(self, delivery_url: str) -> list[WebhookStatus]:
        existing = [
            hook
            for hook in self.client.paginate("webhooks", {})
            if hook.get("delivery_url") == delivery_url
        ]
        result: list[WebhookStatus] = []
        for topic in TOPICS:
            hook = next((h for h in existing if h.get("topic") == topic), None)
            if hook is None:
                created = self.client.send(
                    "POST",
                    "webhooks",
                    {
                        "name": f"Kobling {topic}",
                        "topic": topic,
                        "delivery_url": delivery_url,
                        "secret": self._secret,
                        "status": "active",
                    },
                )
                result.append(WebhookStatus(topic, str(created["id"]), "created"))
            elif hook.get("status") != "active":
                self.client.send("PUT", f"webhooks/{hook['id']}", {"status": "active"})
                result.append(
                    WebhookStatus(
                        topic,
                        str(hook["id"]),
                        "reactivated",
                        f"the shop had set the webhook to {hook.get('status')!r}, usually after "
                        "failed deliveries; orders in between are picked up by polling",
                    )
                )
            else:
                result.append(WebhookStatus(topic, str(hook["id"]), "present"))
        return result

    def close(self) -> None:
        self.client.close()


__all__ = ["WooCommerceWebhookRegistrar", "WooCommerceWebhooks", "read_json"]

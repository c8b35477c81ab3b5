"""Webhook intake: store the receipt first, answer at once, fetch by id in the background."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from kobling.engine.connectors import connection, webhooks_for
from kobling.engine.intake import start_intake
from kobling.engine.runtime import runtime
from kobling.store import repository as repo

# Headers that can carry a credential are never stored with a receipt; everything else is
# kept, to audit a delivery (topic, delivery id, signature).
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)


@dataclass(frozen=True)
class HookAnswer:
    status_code: int
    message: str


def _kept(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}


def receive_delivery(connection_name: str, headers: Mapping[str, str], body: bytes) -> HookAnswer:
    rt = runtime()
    connection_id = repo.find_connection_id(rt.db, connection_name)
    if connection_id is None:
        return HookAnswer(404, f"no connection named {connection_name!r}")
    cfg = connection(connection_id)
    receiver = webhooks_for(cfg)
    if receiver is None:
        return HookAnswer(404, "this connection's source does not send webhooks")
    delivery = receiver.receive(headers, body)
    # Rejected deliveries are each recorded (a forger's retries are evidence too); only
    # authentic deliveries are deduplicated by their key.
    key = f"rejected:{uuid.uuid4().hex}" if delivery.status == "rejected" else delivery.delivery_key
    receipt_id, is_new = repo.store_receipt(
        rt.db,
        connection_id=connection_id,
        delivery_key=key,
        status=delivery.status,
        body=body,
        headers=_kept(headers),
        topic=delivery.topic,
        object_id=delivery.object_id,
        detail=delivery.detail,
    )
    if delivery.status == "rejected":
        return HookAnswer(401, f"rejected: {delivery.detail}")
    if delivery.status == "accepted" and is_new and not (cfg.active and cfg.integration_active):
        # Kept, not acted on: the poll cursor stands still while the connection is off, so
        # the first poll after switching it on reads this order again.
        return HookAnswer(200, "stored; the connection is off, the order waits for it")
    if delivery.status == "accepted" and is_new and delivery.object_id is not None:
        start_intake(
            connection_id, delivery.object_id, "webhook", f"intake:receipt:{receipt_id}", None
        )
        return HookAnswer(202, "accepted")
    if not is_new:
        return HookAnswer(200, "duplicate delivery, already received")
    return HookAnswer(200, delivery.status)

"""The engine's DBOS queues, registered once DBOS is launched."""

from __future__ import annotations

from dbos import DBOS, Queue

from kobling.connectors import registry
from kobling.engine.connectors import transfer_queue_name
from kobling.engine.runtime import runtime

INTAKE_QUEUE = "intake"
# Polls, backfills, notification rounds and reconciliations: the scheduled and on-demand work
# that is not a single order. On a queue of their own (not DBOS's internal one) so that a
# process serving only the web (``kobling run --no-worker``) never runs them.
WORK_QUEUE = "work"
_queues: dict[str, Queue] = {}


def register_queues() -> None:
    tuning = runtime().tuning
    _queues[INTAKE_QUEUE] = DBOS.register_queue(
        INTAKE_QUEUE,
        worker_concurrency=tuning.intake_concurrency,
        polling_interval_sec=tuning.queue_polling_interval,
        on_conflict="always_update",
    )
    _queues[WORK_QUEUE] = DBOS.register_queue(
        WORK_QUEUE,
        worker_concurrency=tuning.work_concurrency,
        polling_interval_sec=tuning.work_queue_polling_interval,
        on_conflict="always_update",
    )
    for spec in registry.all_specs():
        if "invoice_target" not in spec.capabilities:
            continue
        name = transfer_queue_name(spec.kind)
        # No partition_limiter: calls are paced per target system (store/call_budgets.py), and
        # without one DBOS dequeues all partitions in one query instead of one per account.
        _queues[name] = DBOS.register_queue(
            name,
            partition_concurrency=tuning.transfer_partition_concurrency,
            polling_interval_sec=tuning.queue_polling_interval,
            on_conflict="always_update",
        )


def queue_names() -> list[str]:
    """Every queue a worker listens to (the transfer queues of all invoice targets)."""
    names = [INTAKE_QUEUE, WORK_QUEUE]
    for spec in registry.all_specs():
        if "invoice_target" in spec.capabilities:
            names.append(transfer_queue_name(spec.kind))
    return names


def queue(name: str) -> Queue:
    found = _queues.get(name) or DBOS.retrieve_queue(name)
    if found is None:
        raise LookupError(f"queue {name} is not registered")
    _queues[name] = found
    return found

"""Durable retries for steps: back-off that honours ``Retry-After`` and survives restarts.

A failed step is called again after ``DBOS.sleep``, which is itself checkpointed: a worker that
restarts in the middle of a back-off resumes the wait instead of starting over or retrying at
once. Only ``TransientError`` is retried; a ``PermanentError`` goes straight up to be held.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from dbos import DBOS

from kobling.engine.runtime import runtime
from kobling.errors import TransientError
from kobling.store.database import is_outage

log = logging.getLogger("kobling.engine")

P = ParamSpec("P")
R = TypeVar("R")


def backoff_delay(attempt: int, retry_after: float | None, base: float, cap: float) -> float:
    """Exponential back-off (base, 2·base, 4·base, …, capped), or the remote's own wish."""
    delay = min(cap, base * (2 ** (attempt - 1)))
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return float(delay)


def with_retries(step: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    tuning = runtime().tuning
    attempt = 0
    while True:
        attempt += 1
        try:
            return step(*args, **kwargs)
        except TransientError as error:
            if attempt >= tuning.step_attempts:
                raise
            DBOS.sleep(
                backoff_delay(attempt, error.retry_after, tuning.backoff_base, tuning.backoff_max)
            )


# A database outage is waited out for up to about an hour (back-off capped at a minute), then
# the error goes up: the transfer is settled as failed with the reason, or the intake errs.
OUTAGE_ATTEMPTS = 64


def through_outages(work: Callable[[], R]) -> R:
    """Run workflow code, and run it again after the application database was unreachable.

    A step that met the outage raised before it was recorded as done, so running the code
    again repeats only what did not finish; writes to a target are looked up first when their
    attempt was recorded (store/write_attempts.py). Without this, a PostgreSQL restart settled
    transfers as failed and left intakes in error, so an order seen again was not taken in
    (found by the chaos run, docs/chaos.md).
    """
    tuning = runtime().tuning
    attempt = 0
    while True:
        attempt += 1
        try:
            return work()
        except Exception as error:
            if not is_outage(error) or attempt >= OUTAGE_ATTEMPTS:
                raise
            log.warning("the database is unreachable (%s); trying again", error.__class__.__name__)
            DBOS.sleep(backoff_delay(attempt, None, tuning.backoff_base, 60.0))

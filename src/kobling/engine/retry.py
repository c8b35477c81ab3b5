"""Durable retries for steps: back-off that honours ``Retry-After`` and survives restarts.

A failed step is called again after ``DBOS.sleep``, which is itself checkpointed: a worker that
restarts in the middle of a back-off resumes the wait instead of starting over or retrying at
once. Only ``TransientError`` is retried; a ``PermanentError`` goes straight up to be held.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from dbos import DBOS

from kobling.engine.runtime import runtime
from kobling.errors import TransientError

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

"""The process-wide runtime: database, credentials, DBOS, and the knobs tests turn.

DBOS is a process-wide singleton, and its workflows are module-level functions; they reach
the application's database and settings through ``runtime()``. A process configures the
runtime once (``kobling run``, ``kobling demo``, a test fixture) and launches DBOS after it.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kobling.notify.mailer import SmtpSettings
from kobling.store.crypto import CredentialBox, load_or_create_key
from kobling.store.database import DATABASE_URL_ENV, Database, database_url

# The version of what the workflows do step by step, not of the package. DBOS recovers and
# dequeues only workflows of its own application_version, so a release that changed this
# number strands the old version's unfinished workflows unless old workers drain them first
# (docs/deploy.md, "Upgrades"). Bump it only when a workflow's sequence of steps changes.
WORKFLOW_VERSION = 1
APPLICATION_VERSION = f"kobling-workflows-{WORKFLOW_VERSION}"


@dataclass(frozen=True)
class EngineTuning:
    """Timing knobs: production defaults, shortened in tests."""

    http_timeout: float = 30.0
    step_attempts: int = 6
    backoff_base: float = 2.0
    backoff_max: float = 300.0
    poll_cron: str = "0 */5 * * * *"  # every 5 minutes (six-field cron: seconds first)
    poll_lookback_seconds: float = 600.0
    # The first poll of a connection also reads orders modified up to 61 days before the
    # start date, so older orders appear in the log as "skipped: before the start date"
    # instead of being invisible (Tryton's web shop module re-reads 61 days, too).
    first_poll_lookback_seconds: float = 61 * 86400.0
    # Every 12th poll (hourly at the default 5 minutes) also re-reads the open orders of the
    # last 61 days: WooCommerce does not always bump date_modified when items or totals change.
    reread_every_polls: int = 12
    reread_seconds: float = 61 * 86400.0
    scheduler_interval: float = 30.0
    # How often a worker asks each queue for work. Transfers to one account run one at a
    # time, so each waits up to this long after the one before: at 1 s an account managed
    # about one invoice a second (bench, docs/benchmarks.md).
    queue_polling_interval: float = 0.2
    # The work queue (polls, backfills, notification rounds, reconciliations) waits for no
    # order: asking it once a second instead of five times spares an idle worker's CPU.
    work_queue_polling_interval: float = 1.0
    intake_concurrency: int = 8
    # Polls, backfills, notification rounds and reconciliations running at once per worker.
    work_concurrency: int = 4
    # A credit note whose invoice is still on its way checks every 30 s for up to a day.
    invoice_wait_interval: float = 30.0
    invoice_wait_checks: int = 2880
    # One transfer at a time per target account: customers and products are found-or-created
    # by lookups, and two transfers of the same new customer running side by side would both
    # miss the lookup and create it twice. Throughput per account is bounded by the remote's
    # rate limit anyway; different accounts run in parallel.
    transfer_partition_concurrency: int = 1
    # A system is reported unreachable once a transfer failed for it this long ago.
    unreachable_alert_minutes: float = 15.0
    # The daily reconciliation reads this many days, up to yesterday.
    reconcile_days: int = 30
    # A new transfer of an order created within this many hours (and after the database's
    # last restore) creates without looking up by reference first; older orders (backfills,
    # late payments, re-reads) are always looked up (engine/transfer.py, ``_look_up_first``).
    fresh_order_hours: float = 24.0


TUNING_ENV = "KOBLING_TUNING"


def tuning_from_env(environ: Mapping[str, str] | None = None) -> EngineTuning:
    """The defaults, with the overrides in ``KOBLING_TUNING`` (a JSON object of field values).

    Meant for tests, the chaos run and benchmarks, which start worker processes that must poll
    every few seconds instead of every 5 minutes, e.g.
    ``KOBLING_TUNING='{"poll_cron": "*/2 * * * * *", "backoff_base": 0.2}'``.
    """
    text = (environ if environ is not None else os.environ).get(TUNING_ENV, "").strip()
    if not text:
        return EngineTuning()
    try:
        overrides = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{TUNING_ENV} is not valid JSON ({exc.msg}): write an object such as "
            '{"poll_cron": "*/2 * * * * *"}'
        ) from None
    known = {f.name: f for f in fields(EngineTuning)}
    if not isinstance(overrides, dict) or set(overrides) - set(known):
        unknown = sorted(set(overrides) - set(known)) if isinstance(overrides, dict) else []
        raise ValueError(
            f"{TUNING_ENV} must be a JSON object of tuning fields; unknown: "
            f"{', '.join(unknown) or 'not an object'}. Known fields: {', '.join(known)}"
        )
    defaults = EngineTuning()
    typed = {name: _tuning_value(name, getattr(defaults, name), v) for name, v in overrides.items()}
    return replace(defaults, **typed)


def _tuning_value(name: str, default: Any, value: Any) -> Any:
    """``value`` as the type of the field's default, or an error that names the field.

    JSON booleans are not numbers here, and numbers not strings: a wrong type is a mistake
    in the override, not something to convert."""
    kind = type(default)
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is float and numeric and value == value:  # not NaN
        return float(value)
    if kind is int and numeric and float(value).is_integer():
        return int(value)
    if kind is str and isinstance(value, str):
        return value
    raise ValueError(
        f"{TUNING_ENV}: {name} must be {_TYPE_WORDS.get(kind, kind.__name__)}, "
        f"not {json.dumps(value)}; its default is {json.dumps(default)}"
    )


_TYPE_WORDS = {float: "a number", int: "a whole number", str: "a string"}


@dataclass
class Runtime:
    data_dir: Path
    db: Database
    box: CredentialBox
    executor_id: str
    public_url: str = "http://127.0.0.1:8000"
    tuning: EngineTuning = field(default_factory=EngineTuning)
    launched: bool = False
    # The mail server (KOBLING_SMTP_*); None: Kobling sends no e-mail.
    smtp: SmtpSettings | None = None
    # Set while this process holds its executor id (see store/workers.py); set() stops beating.
    heartbeat: threading.Event | None = None

    @property
    def dbos_url(self) -> str:
        """DBOS's system database: its own SQLite file, or the same PostgreSQL database."""
        if self.db.is_sqlite:
            return f"sqlite:///{self.data_dir / 'dbos.sqlite'}"
        return self.db.url


_current: Runtime | None = None


def default_executor_id(data_dir: Path) -> str:
    """A stable id per worker: DBOS recovers a crashed worker's workflows under the same id.

    ``KOBLING_EXECUTOR_ID`` names workers explicitly when several run on one host.
    """
    explicit = os.environ.get("KOBLING_EXECUTOR_ID")
    if explicit:
        return explicit
    return f"{socket.gethostname()}:{data_dir.resolve()}"


def configure(
    data_dir: Path,
    *,
    public_url: str = "http://127.0.0.1:8000",
    tuning: EngineTuning | None = None,
    executor_id: str | None = None,
    database: str | None = None,
    smtp: SmtpSettings | None = None,
) -> Runtime:
    """Create the data directory, open and migrate the database, and set the runtime.

    Without ``smtp`` the mail server is read from the environment (``KOBLING_SMTP_*``).
    """
    global _current
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(database or database_url(data_dir))
    db.migrate()
    _current = Runtime(
        data_dir=data_dir,
        db=db,
        box=CredentialBox(load_or_create_key(data_dir)),
        executor_id=executor_id or default_executor_id(data_dir),
        public_url=public_url,
        tuning=tuning or tuning_from_env(),
        smtp=smtp or SmtpSettings.from_env(os.environ),
    )
    return _current


def runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("the Kobling runtime is not configured: call engine.runtime.configure")
    return _current


def clear() -> None:
    global _current
    if _current is not None:
        _current.db.dispose()
    _current = None


__all__ = ["APPLICATION_VERSION", "DATABASE_URL_ENV", "EngineTuning", "Runtime", "configure"]

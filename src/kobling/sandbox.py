"""The sandbox integration: both simulators wired to Kobling, for newcomers, demo and tests.

"Sandbox WooCommerce → Sandbox e-conomic" is an ordinary integration whose systems happen to
point at the simulators (mounted in Kobling's own web server by ``kobling run``, or served on
a loopback port by ``kobling demo`` and the tests). Simulator state lives in memory.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kobling.connectors.economic.sandbox import EconomicSandbox
from kobling.connectors.woocommerce.sandbox import WooCommerceSandbox
from kobling.connectors.woocommerce.sandbox_orders import FIRST_ORDER_ID
from kobling.engine.runtime import Runtime
from kobling.engine.settings import validate_connection_settings, validate_credentials
from kobling.store import repository as repo

WOO_PREFIX = "/sandbox/woocommerce"
ECONOMIC_PREFIX = "/sandbox/economic"
CONNECTION_NAME = "sandbox-orders"
WOO_KEY, WOO_SECRET = "ck_sandbox", "cs_sandbox"
ECONOMIC_APP, ECONOMIC_GRANT = "sandbox-app-secret", "sandbox-agreement-grant"


@dataclass
class Sandboxes:
    base_url: str
    woo: WooCommerceSandbox
    economic: EconomicSandbox

    @property
    def woo_url(self) -> str:
        return self.base_url.rstrip("/") + WOO_PREFIX + "/"

    @property
    def economic_url(self) -> str:
        return self.base_url.rstrip("/") + ECONOMIC_PREFIX

    def mounts(self) -> dict[str, Any]:
        return {WOO_PREFIX: self.woo.app, ECONOMIC_PREFIX: self.economic.app}

    def close(self) -> None:
        self.woo.close()


def sandbox_app(sandboxes: Sandboxes) -> Any:
    """Both simulators under their prefixes, as one ASGI app (for a loopback port)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    return Starlette(routes=[Mount(prefix, app) for prefix, app in sandboxes.mounts().items()])


def make_sandboxes(base_url: str, *, seed: int = 7, first_id: int | None = None) -> Sandboxes:
    woo = WooCommerceSandbox(
        first_id=first_id or FIRST_ORDER_ID,
        consumer_key=WOO_KEY,
        consumer_secret=WOO_SECRET,
        site_url=base_url.rstrip("/") + WOO_PREFIX + "/",
        seed=seed,
    )
    economic = EconomicSandbox(app_secret_token=ECONOMIC_APP, agreement_grant_token=ECONOMIC_GRANT)
    return Sandboxes(base_url, woo, economic)


@dataclass(frozen=True)
class SandboxLedger:
    """The accounting system the sandbox shop is connected to, and how."""

    kind: str
    name: str
    base_url: str
    credentials: dict[str, Any]
    target_settings: dict[str, Any] = field(default_factory=dict)
    # Connection settings that suit this ledger (One-Stop-Shop, payments to register).
    settings: dict[str, Any] = field(default_factory=dict)


def economic_ledger(sandboxes: Sandboxes) -> SandboxLedger:
    return SandboxLedger(
        "economic",
        "Sandbox e-conomic",
        sandboxes.economic_url,
        {"app_secret_token": ECONOMIC_APP, "agreement_grant_token": ECONOMIC_GRANT},
    )


def tryton_ledger(directory: Path, *, url: str = "") -> SandboxLedger:
    """A local Tryton made by ``kobling tryton init DIR`` (served by ``kobling tryton serve``).

    Card payments (Stripe, PayPal) are registered in Tryton, so its invoices end up ``paid``.
    ``url`` points at another database of the same server (a test's copy).
    """
    from kobling.connectors.tryton.local import LocalTryton, connection_settings

    local = LocalTryton.load(directory)
    credentials, target = connection_settings(local)
    # The sandbox shop's bank transfers ("bacs") arrive on the "Bank transfer" method; cards
    # and PayPal on the default ("Card").
    bank = dict(local.info.get("payment_methods", {})).get("Bank transfer")
    if bank is not None:
        target["payment_methods"] = {"bacs": int(bank)}
    return SandboxLedger(
        "tryton",
        "Sandbox Tryton",
        url or local.url,
        credentials,
        target,
        {"settled_payment_methods": ["stripe", "paypal"]},
    )


def create_sandbox_integration(
    rt: Runtime,
    sandboxes: Sandboxes,
    *,
    start_date: datetime | None = None,
    connection_name: str = CONNECTION_NAME,
    use_webhooks: bool = True,
    target_settings: dict[str, Any] | None = None,
    ledger: SandboxLedger | None = None,
    settings: dict[str, Any] | None = None,
) -> int:
    """Create the sandbox integration; returns its order connection's id."""
    ledger = ledger or economic_ledger(sandboxes)
    start = start_date or datetime.now(UTC)
    account = repo.create_account(rt.db, "Sandbox")
    title = f"Sandbox WooCommerce → {ledger.name}"
    integration = repo.create_integration(rt.db, account, title, start_date=start)
    woo_credentials = {
        "consumer_key": WOO_KEY,
        "consumer_secret": WOO_SECRET,
        "webhook_secret": secrets.token_urlsafe(24),
    }
    ledger_credentials = ledger.credentials
    validate_credentials("woocommerce", woo_credentials)
    validate_credentials(ledger.kind, ledger_credentials)
    shop = repo.add_system(
        rt.db,
        rt.box,
        integration_id=integration,
        kind="woocommerce",
        name="Sandbox WooCommerce",
        base_url=sandboxes.woo_url,
        credentials=woo_credentials,
    )
    ledger_id = repo.add_system(
        rt.db,
        rt.box,
        integration_id=integration,
        kind=ledger.kind,
        name=ledger.name,
        base_url=ledger.base_url,
        credentials=ledger_credentials,
    )
    validated = validate_connection_settings(
        "woocommerce",
        ledger.kind,
        {
            "source": {"eligible_states": ["processing", "completed"]},
            "target": {
                "invoice_mode": "book",
                **ledger.target_settings,
                **(target_settings or {}),
            },
            "use_webhooks": use_webhooks,
            # The sandbox books at once; a real connection starts with a booking trial.
            "booking_trial_days": 0,
            **ledger.settings,
            **(settings or {}),
        },
    )
    return repo.add_connection(
        rt.db,
        integration_id=integration,
        name=connection_name,
        source_system_id=shop,
        target_system_id=ledger_id,
        settings=validated,
        activated_at=start,
    )


@dataclass
class Trickle:
    """Adds a new sandbox order every ``interval`` seconds, so a newcomer sees transfers."""

    woo: WooCommerceSandbox
    interval: float = 8.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, name="sandbox-trickle", daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            now = datetime.now(UTC)
            self.woo.generate_orders(
                1,
                start=now - timedelta(seconds=1),
                end=now,
                statuses={"processing": 0.7, "completed": 0.15, "pending": 0.15},
                deliver_webhooks=True,
            )

    def stop(self) -> None:
        self._stop.set()

"""Two accounts side by side, each with an integration, a connection and transfers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kobling.engine import runtime as runtime_module
from kobling.engine.runtime import Runtime, configure
from kobling.engine.settings import validate_connection_settings
from kobling.store import people
from kobling.store import repository as repo
from kobling.web.app import create_app
from tests.support.databases import sqlite_url
from tests.support.smtp import smtp_inbox  # noqa: F401  (a fixture for the web tests)

PASSWORD = "correct horse battery"


@dataclass
class Tenant:
    account_id: int
    owner: people.Person
    token: str
    integration_id: int
    shop_id: int
    ledger_id: int
    connection_id: int
    held_id: int
    done_id: int

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_tenant(rt: Runtime, name: str) -> Tenant:
    db = rt.db
    account = repo.create_account(db, name)
    integration = repo.create_integration(
        db, account, f"{name} shop → books", start_date=datetime(2026, 1, 1, tzinfo=UTC)
    )
    shop = repo.add_system(
        db,
        rt.box,
        integration_id=integration,
        kind="woocommerce",
        name=f"{name} WooCommerce",
        base_url=f"http://{name.lower()}.invalid/",
        credentials={"consumer_key": "ck_x", "consumer_secret": "cs_secret_" + name},
    )
    ledger = repo.add_system(
        db,
        rt.box,
        integration_id=integration,
        kind="economic",
        name=f"{name} e-conomic",
        base_url="http://economic.invalid/",
        credentials={"app_secret_token": "app", "agreement_grant_token": "grant_" + name},
    )
    settings = validate_connection_settings("woocommerce", "economic", {})
    connection = repo.add_connection(
        db,
        integration_id=integration,
        name=f"{name.lower()}-orders",
        source_system_id=shop,
        target_system_id=ledger,
        settings=settings,
    )
    ids = []
    for source_id, outcome in (("101", "held"), ("102", "done")):
        transfer = repo.claim_transfer(
            db,
            connection_id=connection,
            object_type="order",
            source_id=source_id,
            purpose="invoice",
            source_number=source_id,
        )
        repo.add_snapshot(db, transfer.key, "received", {"payload": {"id": source_id}})
        repo.settle(
            db,
            transfer.key,
            outcome,
            reason=f"{outcome} reason",
            fix="the fix" if outcome == "held" else "",
        )
        ids.append(transfer.id)
    owner = people.create_user(db, account, f"owner@{name.lower()}.test", PASSWORD, "owner")
    token = people.create_api_token(db, owner, "tests")
    return Tenant(account, owner, token, integration, shop, ledger, connection, ids[0], ids[1])


@dataclass
class Web:
    rt: Runtime
    client: TestClient
    a: Tenant
    b: Tenant


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    rt = configure(tmp_path / "data", database=sqlite_url(tmp_path / "data"))
    a, b = make_tenant(rt, "Alpha"), make_tenant(rt, "Beta")
    try:
        with TestClient(create_app()) as client:
            yield Web(rt, client, a, b)
    finally:
        runtime_module.clear()

"""The simulator's standing call limit, and Kobling's shared limiter keeping under it.

Over real HTTP on 127.0.0.1: the simulator runs under uvicorn in a background thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from kobling.connectors.economic.sandbox import EconomicSandbox
from kobling.connectors.economic.sandbox_rate_limit import SlidingWindowLimit
from kobling.connectors.economic.target import EconomicTarget
from kobling.connectors.http import HttpClient, RetryPolicy
from kobling.connectors.jsonutil import loads
from kobling.engine.connectors import call_budget_hooks, call_interval, target_for
from kobling.errors import TransientError
from kobling.store import call_budgets
from kobling.store import repository as repo
from kobling.store.crypto import CredentialBox
from kobling.store.database import Database
from kobling.store.repository import ConnectionConfig, SystemConfig
from kobling.web.server import BackgroundServer, serve_in_thread

AUTH = {
    "X-AppSecretToken": "sandbox-app-secret",
    "X-AgreementGrantToken": "sandbox-agreement-grant",
}
CREDENTIALS = {
    "app_secret_token": AUTH["X-AppSecretToken"],
    "agreement_grant_token": AUTH["X-AgreementGrantToken"],
}


@pytest.fixture
def sandbox() -> Iterator[tuple[EconomicSandbox, str]]:
    instance = EconomicSandbox()
    server: BackgroundServer = serve_in_thread(instance.app)
    try:
        yield instance, server.url
    finally:
        server.stop()


def _customer(name: str) -> dict[str, object]:
    return {
        "name": name,
        "currency": "DKK",
        "customerGroup": {"customerGroupNumber": 1},
        "paymentTerms": {"paymentTermsNumber": 1},
        "vatZone": {"vatZoneNumber": 1},
    }


# --- the simulator ------------------------------------------------------------------------


def test_the_sixth_call_within_the_second_is_refused_and_writes_nothing(
    sandbox: tuple[EconomicSandbox, str],
) -> None:
    sim, url = sandbox
    sim.limit_calls(5, period=1.0)
    with httpx.Client(base_url=url, headers=AUTH, timeout=10) as api:
        started = time.monotonic()
        statuses = [api.post("/customers", json=_customer("C0")).status_code]
        first_answered = time.monotonic()  # the first call arrived before this
        statuses += [api.post("/customers", json=_customer(f"C{i}")).status_code for i in (1, 2)]
        statuses += [api.post("/customers", json=_customer(f"C{i}")).status_code for i in (3, 4)]
        refused = api.post("/customers", json=_customer("C5"))
        assert time.monotonic() - started < 1.0, "the six calls must fall inside one second"
        assert statuses == [201] * 5
        assert refused.status_code == 429
        # The first call leaves the 1.0 s window less than a second from now: rounded up, 1.
        assert refused.headers["Retry-After"] == "1"
        body = loads(refused.content)
        assert body["httpStatusCode"] == 429 and body["message"] and "logId" in body
        assert [c["name"] for c in sim.customers()] == ["C0", "C1", "C2", "C3", "C4"]
        assert sim.rate_limited == 1

        # Once the first call has left the window, four remain: the next call is the fifth.
        time.sleep(max(0.0, first_answered + 1.0 - time.monotonic()))
        again = api.post("/customers", json=_customer("C6"))
        assert again.status_code == 201
        assert len(sim.customers()) == 6
        assert sim.rate_limited == 1


def test_the_limit_can_be_switched_off_and_reset_clears_it(
    sandbox: tuple[EconomicSandbox, str],
) -> None:
    sim, url = sandbox
    with httpx.Client(base_url=url, headers=AUTH, timeout=10) as api:
        sim.limit_calls(1, period=60.0)
        assert api.get("/self").status_code == 200
        assert api.get("/self").status_code == 429
        sim.limit_calls(None)
        assert [api.get("/self").status_code for _ in range(3)] == [200, 200, 200]
        sim.limit_calls(1, period=60.0)
        assert api.get("/self").status_code == 200
        refused = api.get("/self")
        assert refused.status_code == 429
        # The only call in the window was just now: it leaves the 60 s window in about 60 s.
        assert 59 <= int(refused.headers["Retry-After"]) <= 60
        assert sim.rate_limited == 2
        sim.reset()
        assert sim.rate_limited == 0
        assert [api.get("/self").status_code for _ in range(3)] == [200, 200, 200]


def test_a_refused_call_does_not_count_and_unauthorized_calls_are_not_limited() -> None:
    now = [100.0]
    limit = SlidingWindowLimit(clock=lambda: now[0])
    limit.configure(2, period=10.0)
    assert limit.admit("a") is None  # t=100
    now[0] = 104.0
    assert limit.admit("a") is None  # t=104
    assert limit.admit("b") is None  # another agreement has its own window
    now[0] = 107.5
    assert limit.admit("a") == 3  # oldest (100) leaves at 110: 2.5 s, rounded up to 3
    now[0] = 109.9
    assert limit.admit("a") == 1  # 0.1 s left: at least 1
    now[0] = 110.0
    assert limit.admit("a") is None  # 100 has left; the refusals never entered the window
    assert limit.admit("a") == 4  # window holds 104 and 110: 104 leaves at 114
    assert limit.rate_limited == 3
    with pytest.raises(ValueError):
        limit.configure(-1)
    with pytest.raises(ValueError):
        limit.configure(5, period=0)


# --- Kobling's limiter against it ---------------------------------------------------------


@pytest.fixture
def db_and_system(tmp_path: Path) -> Iterator[tuple[Database, int]]:
    db = Database(f"sqlite:///{tmp_path / 'kobling.sqlite'}")
    db.migrate()
    box = CredentialBox(Fernet.generate_key())
    account = repo.create_account(db, "Shop A/S")
    integration = repo.create_integration(
        db, account, "Shop → ledger", start_date=datetime(2026, 1, 1, tzinfo=UTC)
    )
    system = repo.add_system(
        db,
        box,
        integration_id=integration,
        kind="economic",
        name="Ledger",
        base_url="https://ledger.example/",
        credentials=CREDENTIALS,
    )
    try:
        yield db, system
    finally:
        db.dispose()


def test_paced_clients_make_12_calls_under_a_5_per_second_limit_without_a_429(
    sandbox: tuple[EconomicSandbox, str],
    db_and_system: tuple[Database, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, url = sandbox
    db, system = db_and_system
    # call_budget_hooks reads the database from the runtime at each call.
    monkeypatch.setattr("kobling.engine.connectors.runtime", lambda: _Runtime(db))
    sim.limit_calls(5, period=1.0)
    # 200 calls a minute: one call every 0.3 s, plus 2 % headroom = 0.306 s. The 6th call is
    # 5 × 0.306 = 1.53 s after the 1st, so at most 5 fall in any 1.0 s, with 0.53 s to spare
    # for a thread or the server being slow on a busy test machine (300 a minute, 0.204 s,
    # would leave 20 ms: enough for the network, not for a test process short of CPU).
    interval = call_interval(200)
    assert interval == pytest.approx(0.306)
    before_send, on_rate_limited = call_budget_hooks(system, interval)
    rate_limited: list[float | None] = []

    def heard(retry_after: float | None) -> None:
        rate_limited.append(retry_after)
        on_rate_limited(retry_after)

    clients = [
        HttpClient(
            base_url=url,
            remote="e-conomic",
            headers=AUTH,
            retry=RetryPolicy(attempts=1),
            before_send=before_send,
            on_rate_limited=heard,
        )
        for _ in range(2)
    ]
    statuses: list[int] = []
    lock = threading.Lock()
    started = time.time()  # the first slot is taken a moment later

    def work(client: HttpClient) -> None:
        for _ in range(6):
            status = client.request("GET", "self").status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    for client in clients:
        client.close()
    assert statuses == [200] * 12
    assert sim.rate_limited == 0 and rate_limited == []
    assert [status for _, _, status in sim.requests] == [200] * 12
    # 12 slots taken, 0.306 s apart: the next free one is 12 intervals after the first (a
    # caller late for its slot takes another, so allow a little more).
    following = call_budgets.next_slot(db, system)
    assert following is not None
    assert 12 * interval - 1e-6 <= following - started <= 12 * interval + 1.0


def test_without_pacing_the_same_calls_run_into_the_limit(
    sandbox: tuple[EconomicSandbox, str],
) -> None:
    """The control for the test above: it can fail."""
    sim, url = sandbox
    sim.limit_calls(5, period=1.0)
    client = HttpClient(
        base_url=url, remote="e-conomic", headers=AUTH, retry=RetryPolicy(attempts=1)
    )
    statuses = []
    for _ in range(12):
        try:
            statuses.append(client.request("GET", "self").status_code)
        except TransientError as exc:
            assert exc.code == "429"
            statuses.append(429)
    client.close()
    assert statuses.count(429) >= 1 and sim.rate_limited >= 1


def test_a_429_pushes_the_shared_budget_back_by_retry_after(
    sandbox: tuple[EconomicSandbox, str],
    db_and_system: tuple[Database, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, url = sandbox
    db, system = db_and_system
    monkeypatch.setattr("kobling.engine.connectors.runtime", lambda: _Runtime(db))
    sim.faults.fail_next("GET", "self", "rate_limit")  # Retry-After: 1
    before_send, on_rate_limited = call_budget_hooks(system, 0.01)
    slept: list[float] = []
    client = HttpClient(
        base_url=url,
        remote="e-conomic",
        headers=AUTH,
        retry=RetryPolicy(attempts=2),
        sleep=slept.append,  # the client's own retry wait, recorded instead of slept
        before_send=before_send,
        on_rate_limited=on_rate_limited,
    )
    asked = time.time()
    assert client.request("GET", "self").status_code == 200
    client.close()
    assert slept == [1.0]  # the client still honours Retry-After (TransientError.retry_after)
    # The retry reserved its slot no earlier than a second after the 429: the budget was
    # pushed to (429 time + 1 s), and the retry took that slot and moved on by 0.01 s.
    following = call_budgets.next_slot(db, system)
    assert following is not None and following >= asked + 1.0 + 0.01 - 1e-6
    assert [status for _, _, status in sim.requests] == [429, 200]


def test_the_economic_target_takes_the_hooks_from_the_engine(
    sandbox: tuple[EconomicSandbox, str],
) -> None:
    _, url = sandbox
    target = EconomicTarget(url, CREDENTIALS, {"calls_per_minute": 120})
    assert target.calls_per_minute == 120
    sent: list[str] = []
    target.limit_calls(lambda: sent.append("before"), lambda _: None)
    target.client.get("self")
    target.close()
    assert sent == ["before"]
    assert EconomicTarget(url, CREDENTIALS, {}).calls_per_minute is None


def _config(system: int, url: str, target_settings: dict[str, object]) -> ConnectionConfig:
    ledger = SystemConfig(system, "economic", "Ledger", url, CREDENTIALS, {})
    shop = SystemConfig(system + 1000, "woocommerce", "Shop", "https://shop.example/", {}, {})
    return ConnectionConfig(
        id=1,
        name="orders",
        integration_id=1,
        integration_active=True,
        active=True,
        entity="order",
        action="invoice",
        start_date=None,
        activated_at=None,
        settings={"target": target_settings},
        source=shop,
        target=ledger,
    )


def test_the_engine_paces_an_economic_target_with_calls_per_minute_through_its_system(
    sandbox: tuple[EconomicSandbox, str],
    db_and_system: tuple[Database, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, url = sandbox
    db, system = db_and_system
    monkeypatch.setattr("kobling.engine.connectors.runtime", lambda: _Runtime(db))
    # A connector cache of this test's own, so its targets do not outlive it.
    monkeypatch.setattr("kobling.engine.connectors._local", threading.local())
    unpaced = target_for(_config(system, url, {}))
    assert isinstance(unpaced, EconomicTarget)
    assert unpaced.client.http.before_send is None
    unpaced.client.get("self")
    assert call_budgets.next_slot(db, system) is None

    paced = target_for(_config(system, url, {"calls_per_minute": 600}))
    assert isinstance(paced, EconomicTarget) and paced is not unpaced
    started = time.time()
    paced.client.get("self")
    paced.client.get("self")
    # 600 a minute: 0.1 s + 2 % = 0.102 s apart; two calls took two slots from ~now.
    following = call_budgets.next_slot(db, system)
    assert following is not None
    assert 2 * 0.102 - 1e-6 <= following - started <= 2 * 0.102 + 0.5
    assert sim.rate_limited == 0
    unpaced.close()
    paced.close()


def test_a_caller_late_for_its_slot_takes_a_fresh_one(
    db_and_system: tuple[Database, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, system = db_and_system
    monkeypatch.setattr("kobling.engine.connectors.runtime", lambda: _Runtime(db))
    now = [1_000.0]
    slept: list[float] = []
    stalls = [2.0]  # the first sleep overruns by 2 s (a stalled process, a database lock)

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds + (stalls.pop() if stalls else 0.0)

    before_send, _ = call_budget_hooks(system, 1.0, clock=lambda: now[0], sleep=sleep)
    before_send()  # slot 1000.0, on time
    assert slept == [] and now[0] == 1_000.0
    before_send()  # slot 1001.0; woke at 1003.0, 2 s late (> 0.5 s): fresh slot 1003.0
    assert slept == [1.0] and now[0] == 1_003.0
    assert call_budgets.next_slot(db, system) == 1_004.0
    before_send()  # slot 1004.0, slept 1 s, on time
    assert slept == [1.0, 1.0] and now[0] == 1_004.0


def test_a_long_push_back_is_waited_out_by_the_engine_not_in_the_thread(
    db_and_system: tuple[Database, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, system = db_and_system
    monkeypatch.setattr("kobling.engine.connectors.runtime", lambda: _Runtime(db))
    now = [1_000.0]
    slept: list[float] = []
    before_send, on_rate_limited = call_budget_hooks(
        system, 1.0, clock=lambda: now[0], sleep=slept.append
    )
    on_rate_limited(3600.0)  # a 429 with Retry-After: 3600
    with pytest.raises(TransientError) as caught:
        before_send()
    assert caught.value.retry_after == pytest.approx(3600.0)
    assert caught.value.code == "paced" and slept == []
    # Within 30 s it is slept through: Retry-After 20 at 5000 → the slot is 5020.
    now[0] = 5_000.0
    on_rate_limited(20.0)
    before_send()
    assert slept == [20.0]


class _Runtime:
    def __init__(self, db: Database) -> None:
        self.db = db

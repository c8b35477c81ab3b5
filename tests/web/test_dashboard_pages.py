"""The dashboard's home, log, connections and systems pages, per account."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta

from kobling.store import health
from kobling.store import repository as repo
from kobling.store.models import Account, Connection, Integration, PollCursor, Transfer
from tests.web.conftest import Tenant, Web
from tests.web.test_pages import csrf_of, sign_in


def signed_in(web: Web, tenant: Tenant) -> str:
    """Sign the tenant's owner in; the CSRF token of their session."""
    assert sign_in(web.client, tenant.owner.email) == 303
    return csrf_of(web.client.get("/log").text)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- home -------------------------------------------------------------------------------------


def test_home_shows_counts_charts_usage_and_what_needs_attention(web: Web) -> None:
    signed_in(web, web.a)
    with web.rt.db.session() as s:
        account = s.get(Account, web.a.account_id)
        assert account is not None
        account.orders_per_month = 500
    # The engine records each settling as a snapshot; the charts count those.
    for tenant in (web.a, web.b):
        for transfer_id, stages in (
            (tenant.held_id, ("held",)),
            (tenant.done_id, ("document", "done")),
        ):
            with web.rt.db.session() as s:
                key = s.get(Transfer, transfer_id).key  # type: ignore[union-attr]
            for stage in stages:
                repo.add_snapshot(web.rt.db, key, stage, {})
    page = web.client.get("/").text
    # Alpha has one held and one done transfer (conftest); Beta's never show.
    assert re.search(r'class="held">held</span><b>1</b>', page)
    assert re.search(r'class="done">done</span><b>1</b>', page)
    attention = page[page.index('id="attention"') :]
    assert f"/transfers/{web.a.held_id}" in attention and "the fix" in attention
    assert f"/transfers/{web.b.held_id}" not in page
    # Two charts of 14 days: 2 orders handled (held, done); 1 created, 0 updated, 1 error.
    assert page.count("<svg") == 2
    assert "Documents handled per day: orders 2 over 14 days" in page
    assert "created 1, updated 0, errors 1 over 14 days" in page
    assert "of 500 in the plan" in page


def test_a_failed_connection_test_is_listed_until_it_works(web: Web) -> None:
    signed_in(web, web.a)
    health.record_system_check(
        web.rt.db, web.a.ledger_id, ok=False, code="x", detail="key refused", fix="new key"
    )
    health.record_system_check(
        web.rt.db, web.b.ledger_id, ok=False, code="x", detail="beta's secret", fix="beta fix"
    )
    page = web.client.get("/").text
    assert "key refused" in page and "new key" in page
    assert "beta's secret" not in page
    health.record_system_check(web.rt.db, web.a.ledger_id, ok=True, code="ok", detail="", fix="")
    assert "key refused" not in web.client.get("/").text


# -- log ----------------------------------------------------------------------------------------


def test_the_log_searches_by_number_and_filters_by_outcome_and_date(web: Web) -> None:
    signed_in(web, web.a)
    rows = web.client.get("/log", params={"number": "#101"}).text
    assert f"/transfers/{web.a.held_id}" in rows
    assert f"/transfers/{web.a.done_id}" not in rows
    # Beta has an order 101 too: never in Alpha's log.
    assert f"/transfers/{web.b.held_id}" not in rows
    done = web.client.get("/log", params={"outcome": "done"}).text
    assert f"/transfers/{web.a.done_id}" in done and f"/transfers/{web.a.held_id}" not in done
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    later = web.client.get("/log", params={"since": tomorrow}).text
    assert "No transfer matches" in later
    today = datetime.now(UTC).date().isoformat()
    both = web.client.get("/log", params={"since": today, "until": today}).text
    assert f"/transfers/{web.a.done_id}" in both and f"/transfers/{web.a.held_id}" in both
    wrong = web.client.get("/log", params={"since": "22/11/2026"}).text
    assert "is not a date: write it as YYYY-MM-DD" in wrong


# -- transfer page ------------------------------------------------------------------------------


def test_the_transfer_page_shows_decisions_and_the_original_beside_the_change(web: Web) -> None:
    signed_in(web, web.a)
    key = repo.claim_transfer(
        web.rt.db,
        connection_id=web.a.connection_id,
        object_type="order",
        source_id="103",
        purpose="invoice",
        source_number="103",
    ).key
    plan = {
        "decisions": [{"subject": "customer", "choice": "match on email", "reason": "'a@b.c'"}],
        "lines": [{"description": "Mug", "vat_rate": "25", "reason": "DK standard rate"}],
    }
    repo.add_snapshot(web.rt.db, key, "plan", {"plan": plan})
    original = {"number": "103", "lines": [{"quantity": "1", "sku": "MUG"}]}
    changed = {"number": "103", "lines": [{"quantity": "2", "sku": "MUG"}]}
    repo.add_snapshot(
        web.rt.db, key, "changed after booking", {"original": original, "changed": changed}
    )
    transfer = repo.get_transfer(web.rt.db, key)
    assert transfer is not None
    page = web.client.get(f"/transfers/{transfer.id}").text
    decisions = page[page.index('id="decisions"') :]
    assert "match on email" in decisions and "DK standard rate" in decisions
    changes = page[page.index('class="changes"') :]
    assert "<code>lines[0].quantity</code>" in changes
    assert "<del>&#34;1&#34;</del>" in changes and "<ins>&#34;2&#34;</ins>" in changes
    assert "lines[0].sku" not in changes  # unchanged fields are not listed


def test_a_transfer_without_a_document_says_so(web: Web) -> None:
    signed_in(web, web.a)
    page = web.client.get(f"/transfers/{web.a.held_id}").text
    assert "No document in the accounting system" in page
    answer = web.client.get(f"/transfers/{web.a.held_id}/document")
    assert answer.status_code == 404 and "no document in the accounting system yet" in answer.text
    assert web.client.get(f"/transfers/{web.b.held_id}/document").status_code == 404


# -- connections ----------------------------------------------------------------------------


def test_the_connections_page_shows_trigger_polls_and_webhook_health(web: Web) -> None:
    signed_in(web, web.a)
    last = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    with web.rt.db.session() as s:
        s.add(PollCursor(connection_id=web.a.connection_id, window_start=last, polls=3))
    health.record_webhook_check(
        web.rt.db,
        web.a.connection_id,
        [{"topic": "order.updated", "action": "reactivated", "detail": "was 'disabled'"}],
        at=last,
    )
    page = web.client.get("/connections").text
    row = page[page.index(f'id="c{web.a.connection_id}"') :]
    assert "when the order is processing or completed" in row
    assert "by webhook and a poll every 5 minutes" in row
    assert "next: " in row and "none, the connection is off" not in row
    assert "order.updated: re-enabled" in row
    assert "The shop disabled a webhook on 2026-11-20 08:00 UTC: order.updated: was" in row
    assert "beta-orders" not in page
    # ... and the home page asks for a look while it is recent (7 days).
    home = web.client.get("/").text
    attention = home[home.index('id="attention"') :]
    recent = datetime.now(UTC) - last < timedelta(days=7)
    assert ("the shop had disabled a webhook" in attention) is recent


def test_switching_a_connection_and_an_integration_off_and_on(web: Web) -> None:
    csrf = signed_in(web, web.a)
    cid, iid = web.a.connection_id, web.a.integration_id
    off = web.client.post(f"/connections/{cid}/actions/off", data={"csrf": csrf})
    assert off.status_code == 200 and "switched off" in off.text
    assert "none, the connection is off" in off.text
    with web.rt.db.session() as s:
        assert s.get(Connection, cid).active is False  # type: ignore[union-attr]
    web.client.post(f"/connections/{cid}/actions/on", data={"csrf": csrf})
    web.client.post(f"/integrations/{iid}/switch/off", data={"csrf": csrf})
    with web.rt.db.session() as s:
        assert s.get(Connection, cid).active is True  # type: ignore[union-attr]
        assert s.get(Integration, iid).active is False  # type: ignore[union-attr]
    # Another account's connection and integration: not found, unchanged.
    other = web.b.connection_id
    assert (
        web.client.post(f"/connections/{other}/actions/off", data={"csrf": csrf}).status_code == 404
    )
    assert (
        web.client.post(
            f"/integrations/{web.b.integration_id}/switch/off", data={"csrf": csrf}
        ).status_code
        == 404
    )
    with web.rt.db.session() as s:
        assert s.get(Connection, other).active is True  # type: ignore[union-attr]
        assert s.get(Integration, web.b.integration_id).active is True  # type: ignore[union-attr]
    # Without the session's token nothing changes.
    assert web.client.post(f"/connections/{cid}/actions/off", data={"csrf": "x"}).status_code == 400


def test_re_registering_webhooks_of_an_unreachable_shop_says_why(web: Web) -> None:
    csrf = signed_in(web, web.a)
    with web.rt.db.session() as s:
        shop = s.get(Connection, web.a.connection_id).source_system  # type: ignore[union-attr]
        shop.base_url = f"http://127.0.0.1:{closed_port()}/"
    page = web.client.post(
        f"/connections/{web.a.connection_id}/actions/webhooks", data={"csrf": csrf}
    ).text
    assert "could not be registered" in page
    assert "could not be checked" in page  # recorded, and shown in the webhooks column


# -- systems ----------------------------------------------------------------------------------


def test_systems_list_credential_status_and_never_show_a_secret(web: Web) -> None:
    signed_in(web, web.a)
    page = web.client.get("/systems").text
    assert "Alpha WooCommerce" in page and "Beta WooCommerce" not in page
    shop_row = page[page.index(f'id="s{web.a.shop_id}"') : page.index(f'id="s{web.a.ledger_id}"')]
    assert '<span class="ok">set</span>' in shop_row
    # Stored credentials missing a field: incomplete, and the field is named.
    repo.set_system_credentials(web.rt.db, web.rt.box, web.a.shop_id, {"consumer_key": "ck_x"})
    page = web.client.get("/systems").text
    shop_row = page[page.index(f'id="s{web.a.shop_id}"') : page.index(f'id="s{web.a.ledger_id}"')]
    assert "incomplete" in shop_row and "consumer_secret" in shop_row
    edit = web.client.get(f"/systems/{web.a.shop_id}").text
    for secret in ("cs_secret_Alpha", "ck_x"):
        assert secret not in page and secret not in edit
    assert web.client.get(f"/systems/{web.b.shop_id}").status_code == 404


def test_adding_a_system_checks_the_address_and_every_credential(web: Web) -> None:
    csrf = signed_in(web, web.a)
    form = {
        "csrf": csrf,
        "kind": "economic",
        "integration": str(web.a.integration_id),
        "name": "Books",
        "url": "restapi.example",
        "credentials.app_secret_token": "app-secret-1",
    }
    refused = web.client.post("/systems/new", data=form)
    assert refused.status_code == 422
    assert "is not a web address" in refused.text and "agreement_grant_token" in refused.text
    assert "app-secret-1" not in refused.text
    form.update({"url": "http://127.0.0.1:9/", "credentials.agreement_grant_token": "grant-2"})
    # Another account's integration is not a place to add to.
    other = web.client.post("/systems/new", data={**form, "integration": str(web.b.integration_id)})
    assert other.status_code == 422 and "Choose one of your integrations" in other.text
    added = web.client.post("/systems/new", data=form, follow_redirects=False)
    assert added.status_code == 303
    system_id = int(added.headers["location"].split("/")[2].split("?")[0])
    stored = repo.load_system(web.rt.db, web.rt.box, system_id)
    assert stored.credentials == {
        "app_secret_token": "app-secret-1",
        "agreement_grant_token": "grant-2",
    }
    assert stored.base_url == "http://127.0.0.1:9/"


def test_editing_a_system_keeps_credentials_left_empty(web: Web) -> None:
    csrf = signed_in(web, web.a)
    form = {
        "csrf": csrf,
        "name": "Renamed books",
        "url": "http://127.0.0.1:9/",
        "credentials.app_secret_token": "",
        "credentials.agreement_grant_token": "new-grant",
    }
    saved = web.client.post(f"/systems/{web.a.ledger_id}", data=form)
    assert saved.status_code == 200 and "Saved (new agreement_grant_token)" in saved.text
    stored = repo.load_system(web.rt.db, web.rt.box, web.a.ledger_id)
    assert stored.name == "Renamed books"
    assert stored.credentials == {"app_secret_token": "app", "agreement_grant_token": "new-grant"}
    assert "new-grant" not in saved.text
    assert web.client.post(f"/systems/{web.b.ledger_id}", data=form).status_code == 404
    assert repo.load_system(web.rt.db, web.rt.box, web.b.ledger_id).name == "Beta e-conomic"


def test_testing_a_connection_records_and_shows_the_result(web: Web) -> None:
    csrf = signed_in(web, web.a)
    with web.rt.db.session() as s:
        ledger = s.get(Connection, web.a.connection_id).target_system  # type: ignore[union-attr]
        ledger.base_url = f"http://127.0.0.1:{closed_port()}/"
    page = web.client.post(f"/systems/{web.a.ledger_id}/test", data={"csrf": csrf}).text
    assert "Connection failed" in page
    check = web.client.get("/systems").text
    assert "failed" in check[check.index(f'id="s{web.a.ledger_id}"') :]
    assert "grant_Alpha" not in page and "grant_Alpha" not in check
    assert (
        web.client.post(f"/systems/{web.b.ledger_id}/test", data={"csrf": csrf}).status_code == 404
    )


def test_an_open_transfer_page_reloads_only_when_the_transfer_changed(web: Web) -> None:
    signed_in(web, web.a)
    page = web.client.get(f"/transfers/{web.a.held_id}").text
    seen = re.search(r"/changed\?seen=([^\"]+)\"", page)
    assert seen is not None
    changed = f"/transfers/{web.a.held_id}/changed"
    still = web.client.get(changed, params={"seen": seen[1]})
    assert still.status_code == 204 and "HX-Refresh" not in still.headers
    with web.rt.db.session() as s:
        s.get(Transfer, web.a.held_id).attempts += 1  # type: ignore[union-attr]
    moved = web.client.get(changed, params={"seen": seen[1]})
    assert moved.headers.get("HX-Refresh") == "true"
    assert web.client.get(f"/transfers/{web.b.held_id}/changed").status_code == 404


def test_a_shops_page_shows_its_webhooks_health(web: Web) -> None:
    signed_in(web, web.a)
    at = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    health.record_webhook_check(
        web.rt.db,
        web.a.connection_id,
        [{"topic": "order.created", "action": "reactivated", "detail": "was 'disabled'"}],
        at=at,
    )
    shop = web.client.get(f"/systems/{web.a.shop_id}").text
    hooks = shop[shop.index('id="webhooks"') :]
    assert "alpha-orders" in hooks and "none yet" in hooks
    assert "order.created: re-enabled" in hooks
    assert "The shop disabled a webhook on 2026-11-21 09:30 UTC" in hooks
    assert f"/connections/{web.a.connection_id}/actions/webhooks" in hooks
    # The accounting system has no webhooks of its own.
    assert 'id="webhooks"' not in web.client.get(f"/systems/{web.a.ledger_id}").text

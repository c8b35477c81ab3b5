"""The Users page: invitations, roles, removal and API tokens, per account."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from kobling.notify.mailer import SmtpSettings
from kobling.store import notifications, people
from kobling.web.app import create_app
from tests.support.smtp import Inbox
from tests.web.conftest import Web
from tests.web.test_dashboard_pages import closed_port
from tests.web.test_pages import csrf_of, sign_in


def test_invite_join_change_role_and_remove(web: Web) -> None:
    owner = web.client
    assert sign_in(owner, web.a.owner.email) == 303
    page = owner.get("/users")
    invited = owner.post(
        "/users/invite",
        data={"email": "Colleague@Alpha.test", "role": "member", "csrf": csrf_of(page.text)},
    )
    link = re.search(r'<code id="invite-link">([^<]+)</code>', invited.text)
    assert link, invited.text
    path = link[1].split("testserver", 1)[1]
    with TestClient(create_app()) as colleague:
        form = colleague.get(path)
        assert "colleague@alpha.test" in form.text and "member" in form.text
        joined = colleague.post(
            path,
            data={"password": "another long one", "csrf": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert joined.status_code == 303
        # The link works once.
        assert colleague.get(path).status_code == 404
        member = people.user_by_email(web.rt.db, "colleague@alpha.test")
        assert member is not None and member[0].role == "member"
        assert member[0].account_id == web.a.account_id
        # A member sees the users but cannot invite.
        users = colleague.get("/users")
        assert "Invite someone" not in users.text
        refused = colleague.post(
            "/users/invite",
            data={"email": "x@alpha.test", "role": "owner", "csrf": csrf_of(users.text)},
        )
        assert refused.status_code == 403
        # The owner makes them read-only, then removes them: their session ends.
        page = owner.get("/users")
        owner.post(
            f"/users/{member[0].id}/role", data={"role": "read_only", "csrf": csrf_of(page.text)}
        )
        assert people.user_by_email(web.rt.db, "colleague@alpha.test")[0].role == "read_only"  # type: ignore[index]
        owner.post(f"/users/{member[0].id}/remove", data={"csrf": csrf_of(page.text)})
        gone = colleague.get("/", follow_redirects=False)
        assert (gone.status_code, gone.headers["location"]) == (303, "/login")
    # Another account's user cannot be touched.
    page = owner.get("/users")
    other = owner.post(
        f"/users/{web.b.owner.id}/role", data={"role": "read_only", "csrf": csrf_of(page.text)}
    )
    assert other.status_code == 404
    assert people.user_by_email(web.rt.db, web.b.owner.email)[0].role == "owner"  # type: ignore[index]


def test_api_tokens_are_shown_once_and_can_be_revoked(web: Web) -> None:
    assert sign_in(web.client, web.a.owner.email) == 303
    page = web.client.get("/users")
    made = web.client.post(
        "/tokens", data={"name": "accounting script", "csrf": csrf_of(page.text)}
    )
    token = re.search(r'<code id="new-token">([^<]+)</code>', made.text)
    assert token, made.text
    auth = {"Authorization": f"Bearer {token[1]}"}
    assert web.client.get("/api/v1/me", headers=auth).json()["email"] == web.a.owner.email
    listed = web.client.get("/users")
    assert token[1] not in listed.text and "accounting script" in listed.text
    [info] = [
        t for t in people.list_api_tokens(web.rt.db, web.a.owner) if t.name == "accounting script"
    ]
    web.client.post(f"/tokens/{info.id}/revoke", data={"csrf": csrf_of(listed.text)})
    assert web.client.get("/api/v1/me", headers=auth).status_code == 401


def test_the_invitation_is_e_mailed_with_a_link_that_works(web: Web, smtp_inbox: Inbox) -> None:
    web.rt.smtp = smtp_inbox.settings
    owner = web.client
    assert sign_in(owner, web.a.owner.email) == 303
    page = owner.get("/users")
    invited = owner.post(
        "/users/invite",
        data={"email": "Books@Alpha.test", "role": "read_only", "csrf": csrf_of(page.text)},
    )
    assert "The invitation was e-mailed to books@alpha.test" in invited.text
    [mail] = smtp_inbox.to("books@alpha.test")
    assert mail["From"] == "kobling@shop.test"
    assert web.a.owner.email in mail["Subject"]
    body = mail.get_content()
    assert "read-only" in body and "7 days" in body
    link = re.search(r"(http://testserver/invite/\S+)", body)
    assert link, body
    with TestClient(create_app()) as reader:
        form = reader.get(link[1].removeprefix("http://testserver"))
        assert form.status_code == 200 and "books@alpha.test" in form.text


def test_an_invitation_that_cannot_be_mailed_says_why_and_shows_the_link(web: Web) -> None:
    web.rt.smtp = SmtpSettings(host="127.0.0.1", port=closed_port(), sender="k@shop.test")
    assert sign_in(web.client, web.a.owner.email) == 303
    page = web.client.get("/users")
    invited = web.client.post(
        "/users/invite",
        data={"email": "x@alpha.test", "role": "member", "csrf": csrf_of(page.text)},
    )
    assert "could not be e-mailed: the mail server 127.0.0.1:" in invited.text
    assert "KOBLING_SMTP_HOST" in invited.text
    assert re.search(r'<code id="invite-link">http://testserver/invite/', invited.text)


def test_each_person_chooses_their_e_mails(web: Web) -> None:
    assert sign_in(web.client, web.a.owner.email) == 303
    page = web.client.get("/users")
    saved = web.client.post(
        "/users/me/notifications",
        data={"errors": "daily", "reports": "weekly", "csrf": csrf_of(page.text)},
    )
    assert saved.status_code == 200 and "saved" in saved.text
    everyone = notifications.recipients(web.rt.db, web.a.account_id)
    [mine] = [r for r in everyone if r.user_id == web.a.owner.id]
    assert (mine.errors, mine.reports) == ("daily", "weekly")
    wrong = web.client.post(
        "/users/me/notifications",
        data={"errors": "sometimes", "reports": "weekly", "csrf": csrf_of(page.text)},
    )
    assert wrong.status_code == 422 and "immediate" in wrong.text

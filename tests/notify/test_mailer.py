"""SMTP settings from the environment, and mail errors that never show the password."""

from __future__ import annotations

import pytest

from kobling.errors import TransientError
from kobling.notify import mailer
from kobling.notify.mailer import SmtpSettings
from tests.support.smtp import Inbox, smtp_inbox  # noqa: F401  (fixture)
from tests.web.test_dashboard_pages import closed_port


def test_no_host_means_no_mail() -> None:
    assert SmtpSettings.from_env({}) is None


def test_ports_follow_the_security_unless_given() -> None:
    for security, port in (("starttls", 587), ("tls", 465), ("none", 25)):
        env = {"KOBLING_SMTP_HOST": "mail.shop.test", "KOBLING_SMTP_SECURITY": security}
        settings = SmtpSettings.from_env(env)
        assert settings is not None and settings.port == port
    given = SmtpSettings.from_env({"KOBLING_SMTP_HOST": "m", "KOBLING_SMTP_PORT": "2525"})
    assert given is not None and given.port == 2525 and given.sender == "kobling@m"


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [("KOBLING_SMTP_SECURITY", "ssl", "starttls, tls or none"), ("KOBLING_SMTP_PORT", "x", "port")],
)
def test_a_bad_setting_names_itself(key: str, value: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        SmtpSettings.from_env({"KOBLING_SMTP_HOST": "m", key: value})


def test_the_password_never_shows() -> None:
    env = {"KOBLING_SMTP_HOST": "m", "KOBLING_SMTP_PASSWORD": "hunter2-long"}
    settings = SmtpSettings.from_env(env)
    assert settings is not None and "hunter2-long" not in repr(settings)


def test_an_unreachable_server_is_a_transient_problem_with_the_fix() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=closed_port(), sender="k@shop.test")
    message = mailer.compose(settings, "a@shop.test", "Hi", "text")
    with pytest.raises(TransientError) as raised:
        mailer.send(settings, message)
    assert "KOBLING_SMTP_HOST" in raised.value.fix


def test_a_message_arrives_at_a_real_smtp_server(smtp_inbox: Inbox) -> None:  # noqa: F811
    message = mailer.compose(smtp_inbox.settings, "a@shop.test", "Hello", "Ærø, 12,50 kr.")
    mailer.send(smtp_inbox.settings, message)
    [got] = smtp_inbox.to("a@shop.test")
    assert got["Subject"] == "Hello" and got.get_content().strip() == "Ærø, 12,50 kr."

"""Sending e-mail over SMTP: invitations now, notifications and invoice e-mails later.

The server is configured by the operator in the environment (``KOBLING_SMTP_*``); without
``KOBLING_SMTP_HOST`` Kobling sends no mail and says so where a mail would have gone. The
password is held as a ``SecretStr`` so that it never shows in a repr, a log or an error.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

from pydantic import SecretStr

from kobling.errors import PermanentError, TransientError

ENV_HELP = (
    "set KOBLING_SMTP_HOST (and KOBLING_SMTP_PORT, KOBLING_SMTP_USER, KOBLING_SMTP_PASSWORD, "
    "KOBLING_SMTP_FROM, KOBLING_SMTP_SECURITY=starttls|tls|none) and restart Kobling"
)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    port: int = 25
    username: str = ""
    password: SecretStr = field(default_factory=lambda: SecretStr(""))
    security: str = "none"  # none | starttls | tls
    timeout: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings | None:
        """The settings in ``env``, None when no host is set; a bad value raises ValueError."""
        host = env.get("KOBLING_SMTP_HOST", "").strip()
        if not host:
            return None
        security = env.get("KOBLING_SMTP_SECURITY", "starttls").strip().lower()
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"KOBLING_SMTP_SECURITY is {security!r}: write starttls, tls or none")
        default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
        port_text = env.get("KOBLING_SMTP_PORT", "").strip() or str(default_port)
        if not port_text.isdigit():
            raise ValueError(f"KOBLING_SMTP_PORT is {port_text!r}: write a port number, e.g. 587")
        return cls(
            host=host,
            sender=env.get("KOBLING_SMTP_FROM", "").strip() or f"kobling@{host}",
            port=int(port_text),
            username=env.get("KOBLING_SMTP_USER", "").strip(),
            password=SecretStr(env.get("KOBLING_SMTP_PASSWORD", "")),
            security=security,
        )


def compose(settings: SmtpSettings, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(text)
    return message


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Hand the message to the SMTP server; errors say what to check, never the password."""
    where = f"{settings.host}:{settings.port}"
    try:
        with _connect(settings) as smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password.get_secret_value())
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise PermanentError(
            f"the mail server {where} refused the login of {settings.username!r}",
            "check KOBLING_SMTP_USER and KOBLING_SMTP_PASSWORD",
            code="smtp_login",
        ) from None
    except smtplib.SMTPRecipientsRefused:
        raise PermanentError(
            f"the mail server {where} refused the address {message['To']}",
            "check the e-mail address",
            code="smtp_recipient",
        ) from None
    except (OSError, smtplib.SMTPException) as error:
        raise TransientError(
            f"the mail server {where} could not be reached or refused the mail "
            f"({type(error).__name__})",
            "check KOBLING_SMTP_HOST and KOBLING_SMTP_PORT and that the server is running",
            code="smtp_unreachable",
        ) from None


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.security == "tls":
        return smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)

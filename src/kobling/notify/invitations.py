"""The e-mail that invites someone to an account: who invites, with which role, the link."""

from __future__ import annotations

from email.message import EmailMessage

from kobling.notify.mailer import SmtpSettings, compose


def invitation(
    settings: SmtpSettings, *, to: str, inviter: str, role: str, link: str, days: int
) -> EmailMessage:
    text = (
        f"{inviter} invites you to Kobling, where their shop's orders are transferred to "
        f"their accounting system. Your role: {role.replace('_', '-')}.\n\n"
        f"Choose your password here (the link works once, for {days} days):\n\n"
        f"{link}\n\n"
        "If you did not expect this invitation, ignore this e-mail; nothing happens.\n"
    )
    return compose(settings, to, f"{inviter} invites you to Kobling", text)

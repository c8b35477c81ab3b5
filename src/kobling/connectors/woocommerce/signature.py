"""WooCommerce webhook signatures (fact sheet §7, [WEBHOOK] ``generate_signature``).

WooCommerce signs every delivery with::

    base64_encode(hash_hmac('sha256', $body, wp_specialchars_decode($secret, ENT_QUOTES), true))

so the signature is the standard Base64 (44 characters with ``=`` padding) of the raw
32-byte HMAC-SHA256 digest over the *raw body bytes as sent*. Two details bite receivers:

* the body must be the exact bytes received; re-serialising the JSON changes them (WordPress
  escapes ``/`` as ``\\/`` and non-ASCII as ``\\uXXXX``);
* the secret is HTML-entity decoded first, but only for the handful of entities
  ``wp_specialchars_decode`` knows: a secret stored as ``a&amp;b`` signs with ``a&b``.

This module is pure so that both the simulator and the real connector share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

__all__ = ["decode_secret", "sign", "verify"]

# wp_specialchars_decode(..., ENT_QUOTES): first normalise zero-padded numeric entities,
# then translate with strtr (single pass, longest match; no key is a prefix of another,
# so a regex alternation gives the same result).
_ZERO_PADDING: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"&#0*39;"), "&#039;"),
    (re.compile(r"&#x0*27;", re.IGNORECASE), "&#x27;"),
    (re.compile(r"&#0*34;"), "&#034;"),
    (re.compile(r"&#x0*22;", re.IGNORECASE), "&#x22;"),
    (re.compile(r"&#0*60;"), "&#060;"),
    (re.compile(r"&#0*62;"), "&#062;"),
    (re.compile(r"&#0*38;"), "&#038;"),
    (re.compile(r"&#x0*26;", re.IGNORECASE), "&#x26;"),
)
_TRANSLATION: dict[str, str] = {
    "&#039;": "'",
    "&#x27;": "'",
    "&quot;": '"',
    "&#034;": '"',
    "&#x22;": '"',
    "&lt;": "<",
    "&#060;": "<",
    "&gt;": ">",
    "&#062;": ">",
    "&amp;": "&",
    "&#038;": "&",
    "&#x26;": "&",
}
_TRANSLATION_RE = re.compile("|".join(re.escape(key) for key in _TRANSLATION))


def decode_secret(secret: str) -> str:
    """Decode a webhook secret the way WordPress does before using it as the HMAC key.

    This is ``wp_specialchars_decode($secret, ENT_QUOTES)``, not a full HTML unescape:
    ``&copy;`` stays as it is, and ``&amp;lt;`` becomes ``&lt;`` (one pass only).
    """
    if "&" not in secret:
        return secret
    for pattern, replacement in _ZERO_PADDING:
        secret = pattern.sub(replacement, secret)
    return _TRANSLATION_RE.sub(lambda match: _TRANSLATION[match.group(0)], secret)


def sign(body: bytes, secret: str) -> str:
    """Return the ``X-WC-Webhook-Signature`` value WooCommerce sends for ``body``."""
    key = decode_secret(secret).encode("utf-8")
    digest = hmac.new(key, body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """Check a received signature header against the raw body, in constant time.

    A missing or non-ASCII header is simply invalid (WooCommerce's ping has no signature at
    all; a receiver must recognise the ping by its form body, not by skipping this check).
    """
    if not header:
        return False
    try:
        received = header.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    expected = sign(body, secret).encode("ascii")
    return hmac.compare_digest(expected, received)

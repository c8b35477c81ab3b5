"""WooCommerce webhook signatures: base64(HMAC-SHA256(raw body, decoded secret))."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from kobling.connectors.woocommerce.signature import decode_secret, sign, verify

# A body as WordPress encodes it (slashes escaped), and its signature computed outside Python
# with: printf '%s' "$BODY" | openssl dgst -sha256 -hmac 'kobling-test-secret' -binary | base64
BODY = (
    b'{"id":1001,"status":"processing","_links":{"self":[{"href":'
    b'"https:\\/\\/shop.example.dk\\/wp-json\\/wc\\/v3\\/orders\\/1001"}]}}'
)
SECRET = "kobling-test-secret"
KNOWN_SIGNATURE = "dGDZlsy8iTj++ZwlZf9biTYmdkGOw3sBD4wdJryuzLk="


def _reference(body: bytes, key: bytes) -> str:
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def test_sign_matches_known_vector_and_independent_hmac() -> None:
    assert sign(BODY, SECRET) == KNOWN_SIGNATURE
    assert sign(BODY, SECRET) == _reference(BODY, SECRET.encode())
    assert len(KNOWN_SIGNATURE) == 44 and KNOWN_SIGNATURE.endswith("=")


def test_verify_accepts_the_exact_body_only() -> None:
    assert verify(BODY, SECRET, KNOWN_SIGNATURE)
    assert verify(BODY, SECRET, f"  {KNOWN_SIGNATURE}\r\n")  # header whitespace is not content
    # The same JSON re-serialised without WordPress's "\/" escaping is a different body.
    reserialised = BODY.replace(b"\\/", b"/")
    assert not verify(reserialised, SECRET, KNOWN_SIGNATURE)
    tampered = BODY.replace(b"processing", b"completed")
    assert not verify(tampered, SECRET, KNOWN_SIGNATURE)
    assert not verify(BODY, "another-secret", KNOWN_SIGNATURE)


@pytest.mark.parametrize("header", [None, "", "not base64 at all", "ÆØÅ" + KNOWN_SIGNATURE[3:]])
def test_verify_rejects_missing_or_malformed_headers(header: str | None) -> None:
    assert not verify(BODY, SECRET, header)


def test_secret_with_html_entities_is_decoded_before_signing() -> None:
    # WooCommerce keys the HMAC with wp_specialchars_decode($secret, ENT_QUOTES).
    # Vector from: printf '%s' hello | openssl dgst -sha256 -hmac 'a&b' -binary | base64
    assert sign(b"hello", "a&amp;b") == "ciPFwtUBMn8FUHdrlw43tYV1WEqWk9v/hf/w8u5fQAc="
    assert sign(b"hello", "a&amp;b") == _reference(b"hello", b"a&b")
    assert sign(b"hello", "a&amp;b") != _reference(b"hello", b"a&amp;b")
    assert verify(b"hello", "a&amp;b", _reference(b"hello", b"a&b"))


@pytest.mark.parametrize(
    ("stored", "key"),
    [
        ("plain", "plain"),
        ("a&amp;b", "a&b"),
        ("&lt;x&gt;", "<x>"),
        ("q&quot;&#039;&#39;&#x27;&#X27;", "q\"''''"),
        ("&#0038;&#x26;&#38;", "&&&"),
        ("&amp;lt;", "&lt;"),  # one pass only, like PHP strtr
        ("&copy;&nbsp;", "&copy;&nbsp;"),  # not a special char: left alone
        ("a & b", "a & b"),
    ],
)
def test_decode_secret_follows_wp_specialchars_decode(stored: str, key: str) -> None:
    assert decode_secret(stored) == key

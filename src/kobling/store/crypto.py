"""Encryption of credentials at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from ``KOBLING_SECRET_KEY`` or from a key file created on first run with mode
0600 inside the data directory. Losing the key means re-entering the credentials, never a
silent fallback to plain text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

KEY_ENV = "KOBLING_SECRET_KEY"


def load_or_create_key(data_dir: Path) -> bytes:
    """The Fernet key from the environment, else from ``data_dir/secret.key`` (created once)."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return from_env.encode()
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class CredentialBox:
    """Seals and opens a system's credentials dictionary."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, credentials: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(credentials, sort_keys=True).encode())

    def open(self, sealed: bytes) -> dict[str, Any]:
        try:
            data = json.loads(self._fernet.decrypt(sealed))
        except InvalidToken as exc:
            raise ValueError(
                "stored credentials cannot be decrypted with the current key: restore the "
                f"original {KEY_ENV} or secret.key, or enter the credentials again"
            ) from exc
        assert isinstance(data, dict)
        return data

    def __repr__(self) -> str:
        return "CredentialBox(<key hidden>)"

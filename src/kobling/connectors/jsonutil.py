"""JSON with exact numbers: Decimals are written as JSON numbers, never through a float.

The standard library can only write a Decimal as a string or by converting it to float
(which would turn 0.1 into 0.1000000000000000055…). Remote APIs such as e-conomic expect
amounts as JSON numbers, so each Decimal is written from its own text.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_MARK = "\u0000dec:"
_MARKED = re.compile(r'"\\u0000dec:(-?[0-9.]+)"')


def _mark(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value} as a JSON number")
        return f"{_MARK}{value:f}"
    if isinstance(value, dict):
        return {k: _mark(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(v) for v in value]
    if isinstance(value, float):
        raise TypeError("floats must not be sent: use Decimal for amounts")
    return value


def dumps(value: Any) -> bytes:
    """Serialize ``value`` with Decimals as exact JSON numbers."""
    text = json.dumps(_mark(value), separators=(",", ":"), ensure_ascii=True)
    return _MARKED.sub(lambda m: m.group(1), text).encode()


def loads(raw: bytes | str) -> Any:
    """Parse JSON keeping decimals exact."""
    return json.loads(raw, parse_float=Decimal)

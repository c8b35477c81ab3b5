"""e-conomic's two escaping schemes, as pure functions shared by the connector and the simulator.

1. Self-link ids (fact sheet §1, "Custom resource self-link encoding"): some characters in a
   resource id (mostly product numbers, i.e. shop SKUs) are replaced by ``_<n>_`` tokens before
   the id goes into a URL path; everything else that is not URL-safe is percent-encoded on top.
   Because ``_`` itself is escaped (``_8_``), every ``_`` in an escaped id starts a token, which
   makes the scheme reversible.
2. Filter values (fact sheet §3, "Filtering"): ``$ ( ) * , [ ]`` carry meaning in the ``filter``
   query parameter and are escaped with a ``$`` prefix.
"""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = [
    "escape_filter_value",
    "escape_self_link_id",
    "self_link_path_segment",
    "unescape_self_link_id",
]

_SELF_LINK_ESCAPES: dict[str, str] = {
    "<": "_0_",
    ">": "_1_",
    "*": "_2_",
    "%": "_3_",
    ":": "_4_",
    "&": "_5_",
    "/": "_6_",
    "\\": "_7_",
    "_": "_8_",
    " ": "_9_",
    "?": "_10_",
    ".": "_11_",
    "#": "_12_",
    "+": "_13_",
}
_SELF_LINK_UNESCAPES: dict[str, str] = {token: char for char, token in _SELF_LINK_ESCAPES.items()}
# Two-digit tokens first so "_10_" is not read as "_1_" followed by "0_".
_SELF_LINK_TOKEN = re.compile(r"_(1[0-3]|[0-9])_")

_FILTER_SPECIALS = frozenset("$()*,[]")


def escape_self_link_id(value: str) -> str:
    """Replace the characters e-conomic escapes in self-link ids by their ``_<n>_`` tokens.

    >>> escape_self_link_id("My Awesome_Product%")
    'My_9_Awesome_8_Product_3_'
    """
    return "".join(_SELF_LINK_ESCAPES.get(char, char) for char in value)


def unescape_self_link_id(value: str) -> str:
    """Reverse :func:`escape_self_link_id` (after the URL layer has undone percent-encoding).

    A ``_`` that does not start a known token is kept as it is: real ids never contain a bare
    ``_`` once escaped, so this only matters for hand-written URLs.
    """
    return _SELF_LINK_TOKEN.sub(lambda match: _SELF_LINK_UNESCAPES[match.group(0)], value)


def self_link_path_segment(value: str) -> str:
    """The URL path segment for a resource id: custom escapes, then percent-encoding for the rest.

    e-conomic percent-encodes "all other non-alphanumeric characters" (e.g. ``æ`` -> ``%C3%A6``).
    """
    return quote(escape_self_link_id(value), safe="")


def escape_filter_value(value: str) -> str:
    """Escape a literal value for use after a filter operator (``name$eq:<value>``).

    >>> escape_filter_value("Smith & Co (DK), 50$")
    'Smith & Co $(DK$)$, 50$$'
    """
    return "".join(f"${char}" if char in _FILTER_SPECIALS else char for char in value)

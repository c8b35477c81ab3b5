"""The ``filter`` and ``sort`` query parameters of the e-conomic REST API (fact sheet §3).

A small tokenizer plus a recursive-descent parser turn a filter such as
``name$eq:Joe$and:(city$like:*port$or:customerNumber$lt:40)`` into a tree that is then evaluated
against stored documents. It is strict on purpose: anything the real API would answer with 400
(unknown operator, unescaped special character, a property that is not filterable) raises
:class:`FilterError`, so a connector that forgets to escape a value fails in tests, not in
production.

Grammar (documented behaviour plus two assumptions, marked *)::

    expression := conjunction ("$or:" conjunction)*        * $and binds tighter than $or
    conjunction := primary ("$and:" primary)*
    primary    := "(" expression ")" | predicate
    predicate  := property "$" operator ":" value
    operator   := eq | ne | gt | gte | lt | lte | like | in | nin
    value      := "$null:" | scalar | "[" item ("," item)* "]"   (lists only for in/nin)

``$null:`` is a *value* (the docs call it "the null escape sequence"): ``email$eq:$null:``
matches documents without an email, ``email$ne:$null:`` those with one, and it may appear in an
``$in:`` list. *A bare ``prop$null:`` operator is not documented and is rejected.

Comparison rules: strings compare case-insensitively; ``$like:`` without ``*`` means "contains";
``$in``/``$nin`` accept numeric properties only, at most 200 values; booleans are omitted from
documents when false, so an absent boolean property counts as ``false``.

:func:`query_collection` puts filter, sort and pagination (``skippages``/``pagesize``)
together for one collection request.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final
from urllib.parse import quote, urlencode

from kobling.connectors.economic.sandbox_spec import EndpointSpec

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "NULL",
    "And",
    "Condition",
    "FilterError",
    "FilterNode",
    "Null",
    "Or",
    "Page",
    "PageError",
    "QueryError",
    "Scalar",
    "SortError",
    "SortKey",
    "compile_filter",
    "matches",
    "page_params",
    "parse_filter",
    "parse_sort",
    "query_collection",
    "sort_documents",
    "tokenize",
]

MAX_PAGE_SIZE: Final = 1000
DEFAULT_PAGE_SIZE: Final = 20
OPERATORS: Final = ("eq", "ne", "gt", "gte", "lt", "lte", "like", "in", "nin")
MAX_IN_VALUES: Final = 200
_ESCAPABLE: Final = frozenset("$()*,[]")
_PROPERTY = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")
_OPERATOR = re.compile(r"\$(gte|gt|lte|lt|eq|ne|like|nin|in):")
_NULL_VALUE: Final = "$null:"
_AND: Final = "$and:"
_OR: Final = "$or:"


class QueryError(ValueError):
    """A query string the real API rejects with 400; ``message`` is the response's message."""

    message: ClassVar[str] = "Invalid query string."
    hint_prefix: ClassVar[str] = ""

    @property
    def hint(self) -> str:
        """The developer hint: the general advice, then what exactly was wrong."""
        return f"{self.hint_prefix} {self}".strip()


class FilterError(QueryError):
    """A ``filter`` parameter that cannot be parsed or uses a non-filterable property."""

    message = "Could not parse query string filter."  # §11
    hint_prefix = "Use the allowed operators and allowed filtering fields."


class SortError(QueryError):
    """A ``sort`` parameter that cannot be parsed or uses a non-sortable property."""

    message = "Could not parse query string sort."
    hint_prefix = "Sort only on sortable properties."


class PageError(QueryError):
    """``skippages`` or ``pagesize`` out of range (pagesize is 1..1000, §3)."""

    message = "Invalid pagination parameters."


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Null:
    """The ``$null:`` value: the property is absent (e-conomic never stores null)."""


NULL: Final = Null()


@dataclass(frozen=True)
class Scalar:
    """A literal value; ``parts`` are the pieces between unescaped ``*`` wildcards."""

    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        """The value as written, unescaped (a wildcard is a plain ``*`` outside ``$like:``)."""
        return "*".join(self.parts)

    @property
    def has_wildcard(self) -> bool:
        return len(self.parts) > 1


Item = Scalar | Null
Value = Scalar | Null | tuple[Item, ...]


# --- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Predicate:
    """Token for one ``property$operator:value`` predicate, before type checking."""

    prop: str
    op: str
    value: Value


Token = Predicate | str  # str tokens: "(", ")", "$and:", "$or:"


def tokenize(text: str) -> list[Token]:
    """Split a raw (URL-decoded) filter into predicates, parentheses and logical operators."""
    tokens: list[Token] = []
    position = 0
    expect_term = True
    while position < len(text):
        if expect_term:
            if text[position] == "(":
                tokens.append("(")
                position += 1
                continue
            predicate, position = _read_predicate(text, position)
            tokens.append(predicate)
            expect_term = False
        elif text[position] == ")":
            tokens.append(")")
            position += 1
        elif text.startswith(_AND, position) or text.startswith(_OR, position):
            operator = _AND if text.startswith(_AND, position) else _OR
            tokens.append(operator)
            position += len(operator)
            expect_term = True
        else:
            raise FilterError(f"Unexpected character {text[position]!r} at position {position}.")
    if expect_term:
        raise FilterError("The filter ends where a predicate was expected.")
    return tokens


def _read_predicate(text: str, position: int) -> tuple[Predicate, int]:
    prop_match = _PROPERTY.match(text, position)
    if prop_match is None:
        raise FilterError(f"Expected a property name at position {position}.")
    op_match = _OPERATOR.match(text, prop_match.end())
    if op_match is None:
        raise FilterError(
            f"Expected an operator ($eq:, $ne:, $gt:, $gte:, $lt:, $lte:, $like:, $in:, $nin:) "
            f"after {prop_match.group(0)!r}."
        )
    op = op_match.group(1)
    value_start = op_match.end()
    if op in ("in", "nin"):
        items, end = _read_list(text, value_start)
        return Predicate(prop_match.group(0), op, items), end
    value, end = _read_item(text, value_start, terminators=")")
    return Predicate(prop_match.group(0), op, value), end


def _read_list(text: str, position: int) -> tuple[tuple[Item, ...], int]:
    if not text.startswith("[", position):
        raise FilterError("$in: and $nin: need a list in brackets, e.g. [1,2,3].")
    items: list[Item] = []
    position += 1
    while True:
        item, position = _read_item(text, position, terminators=",]")
        items.append(item)
        if position >= len(text):
            raise FilterError("Unterminated list: missing ']'.")
        if text[position] == "]":
            return tuple(items), position + 1
        position += 1  # the ","


def _read_item(text: str, position: int, terminators: str) -> tuple[Item, int]:
    """Read one value up to an unescaped terminator, ``$and:``, ``$or:`` or the end."""
    if text.startswith(_NULL_VALUE, position):
        end = position + len(_NULL_VALUE)
        if _at_value_end(text, end, terminators):
            return NULL, end
        raise FilterError("$null: must stand alone as a value.")
    parts: list[str] = []
    current: list[str] = []
    while not _at_value_end(text, position, terminators):
        char = text[position]
        if char == "$":
            escaped = text[position + 1 : position + 2]
            if escaped not in _ESCAPABLE:
                raise FilterError(f"Unescaped '$' at position {position}; write '$$'.")
            current.append(escaped)
            position += 2
        elif char == "*":
            parts.append("".join(current))
            current = []
            position += 1
        elif char in "()[],":
            raise FilterError(f"Unescaped {char!r} at position {position}; write '${char}'.")
        else:
            current.append(char)
            position += 1
    parts.append("".join(current))
    return Scalar(tuple(parts)), position


def _at_value_end(text: str, position: int, terminators: str) -> bool:
    return (
        position >= len(text)
        or text[position] in terminators
        or text.startswith(_AND, position)
        or text.startswith(_OR, position)
    )


# --- syntax tree --------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A type-checked predicate, ready to evaluate.

    ``kind`` is how values compare: "number", "boolean" or "string". ``operand`` is a Decimal,
    bool or case-folded str (or a compiled pattern for $like, a tuple for $in/$nin, NULL).
    """

    prop: str
    op: str
    kind: str
    operand: Any


@dataclass(frozen=True)
class And:
    children: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[FilterNode, ...]


# Leaves are Predicates after parse_filter() and Conditions after compile_filter().
FilterNode = Condition | Predicate | And | Or


class _Parser:
    """Recursive descent over the token list; see the grammar in the module docstring."""

    def __init__(self, tokens: Sequence[Token]) -> None:
        self._tokens = tokens
        self._index = 0

    def parse(self) -> FilterNode:
        node = self._expression()
        if self._index != len(self._tokens):
            raise FilterError("Unbalanced parentheses: unexpected ')'.")
        return node

    def _peek(self) -> Token | None:
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def _expression(self) -> FilterNode:
        children = [self._conjunction()]
        while self._peek() == _OR:
            self._index += 1
            children.append(self._conjunction())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def _conjunction(self) -> FilterNode:
        children = [self._primary()]
        while self._peek() == _AND:
            self._index += 1
            children.append(self._primary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def _primary(self) -> FilterNode:
        current = self._peek()
        self._index += 1
        if current == "(":
            node = self._expression()
            if self._peek() != ")":
                raise FilterError("Unbalanced parentheses: missing ')'.")
            self._index += 1
            return node
        if isinstance(current, Predicate):
            return current
        raise FilterError("Expected a predicate or '('.")


def parse_filter(text: str) -> FilterNode:
    """Parse a filter into a tree of :class:`Predicate` leaves (no type checks yet)."""
    return _Parser(tokenize(text)).parse()


def compile_filter(
    text: str, field_types: Mapping[str, str], filterable: Collection[str]
) -> FilterNode:
    """Parse and type-check a filter against one endpoint's filterable properties.

    ``field_types`` maps a property to its spec type ("string", "integer", "number",
    "boolean", ...); properties without a type compare as strings.
    """
    return _compile(parse_filter(text), field_types, frozenset(filterable))


def _compile(node: FilterNode, types: Mapping[str, str], filterable: frozenset[str]) -> FilterNode:
    if isinstance(node, And):
        return And(tuple(_compile(child, types, filterable) for child in node.children))
    if isinstance(node, Or):
        return Or(tuple(_compile(child, types, filterable) for child in node.children))
    if isinstance(node, Condition):
        return node
    if node.prop not in filterable:
        raise FilterError(f"Property {node.prop!r} is not filterable on this endpoint.")
    kind = _kind_of(types.get(node.prop))
    return Condition(node.prop, node.op, kind, _operand(node, kind))


def _kind_of(spec_type: str | None) -> str:
    if spec_type in ("integer", "number"):
        return "number"
    if spec_type == "boolean":
        return "boolean"
    return "string"


def _operand(predicate: Predicate, kind: str) -> Any:
    value = predicate.value
    if predicate.op in ("in", "nin"):
        if kind != "number":
            raise FilterError(
                f"$in: and $nin: are only allowed on numeric properties, not on {predicate.prop!r}."
            )
        assert isinstance(value, tuple)
        if len(value) > MAX_IN_VALUES:
            raise FilterError(f"$in: and $nin: accept at most {MAX_IN_VALUES} values.")
        return tuple(NULL if item is NULL else _convert(item, "number") for item in value)
    assert not isinstance(value, tuple)
    if isinstance(value, Null):
        if predicate.op not in ("eq", "ne"):
            raise FilterError("$null: can only be used with $eq: and $ne:.")
        return NULL
    if predicate.op == "like":
        return _like_pattern(value)
    if kind == "boolean" and predicate.op not in ("eq", "ne"):
        raise FilterError(f"Boolean property {predicate.prop!r} supports only $eq: and $ne:.")
    return _convert(value, kind)


def _convert(item: Item, kind: str) -> Decimal | bool | str:
    assert isinstance(item, Scalar)
    text = item.text
    if kind == "number":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise FilterError(f"{text!r} is not a number.") from None
        if not number.is_finite():
            raise FilterError(f"{text!r} is not a number.")
        return number
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise FilterError(f"{text!r} is not a boolean (true or false).")
        return text.lower() == "true"
    return text.casefold()


def _like_pattern(value: Scalar) -> re.Pattern[str]:
    """``$like:`` pattern: ``*`` is a wildcard; without any wildcard it means "contains"."""
    pieces = [re.escape(part.casefold()) for part in value.parts]
    body = ".*".join(pieces)
    if not value.has_wildcard:
        body = f".*{body}.*"
    return re.compile(body, re.DOTALL)


# --- evaluation ---------------------------------------------------------------------------


def matches(node: FilterNode, document: Mapping[str, Any]) -> bool:
    """Whether a stored document satisfies a compiled filter."""
    if isinstance(node, And):
        return all(matches(child, document) for child in node.children)
    if isinstance(node, Or):
        return any(matches(child, document) for child in node.children)
    if isinstance(node, Predicate):
        raise TypeError("compile the filter with compile_filter() before evaluating it")
    return _matches_condition(node, document)


def _matches_condition(condition: Condition, document: Mapping[str, Any]) -> bool:
    raw = list(_lookup(document, condition.prop))
    if not raw and condition.kind == "boolean":
        raw = [False]  # booleans are omitted when false (fact sheet §1)
    values = [v for v in (_normalize(item, condition.kind) for item in raw) if v is not None]
    operand = condition.operand
    op = condition.op
    if isinstance(operand, Null):
        return not values if op == "eq" else bool(values)
    if op in ("in", "nin"):
        found = any(v in operand for v in values) or (not values and NULL in operand)
        return found if op == "in" else not found
    if op == "ne":
        return not any(v == operand for v in values)
    return any(_compare(op, v, operand) for v in values)


def _compare(op: str, value: Any, operand: Any) -> bool:
    if op == "like":
        return operand.fullmatch(str(value)) is not None
    if op == "eq":
        return bool(value == operand)
    if op == "gt":
        return bool(value > operand)
    if op == "gte":
        return bool(value >= operand)
    if op == "lt":
        return bool(value < operand)
    return bool(value <= operand)  # lte


def _lookup(document: Any, dotted: str) -> Iterator[Any]:
    """Values at a dotted path; arrays on the way are flattened (any element may match)."""
    current: list[Any] = [document]
    for key in dotted.split("."):
        following: list[Any] = []
        for item in current:
            if isinstance(item, Mapping) and key in item:
                value = item[key]
                following.extend(value if isinstance(value, list) else [value])
        current = following
    yield from (item for item in current if item is not None)


def _normalize(value: Any, kind: str) -> Decimal | bool | str | None:
    """A document value in the comparison domain of ``kind``; None if it does not fit."""
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            return None
        return Decimal(value)
    if isinstance(value, dict | list):
        return None
    return str(value).casefold()


# --- sorting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    """One ``sort`` entry: ``-`` for descending, ``~`` for alphabetical (numbers as text)."""

    prop: str
    descending: bool = False
    alphabetical: bool = False


def parse_sort(text: str, sortable: Collection[str]) -> list[SortKey]:
    """Parse ``sort=-name,~customerNumber``; an unknown or non-sortable property raises."""
    keys: list[SortKey] = []
    for raw in text.split(","):
        entry = raw.strip()
        descending = entry.startswith("-")
        entry = entry.removeprefix("-")
        alphabetical = entry.startswith("~")
        entry = entry.removeprefix("~")
        if not _PROPERTY.fullmatch(entry):
            raise SortError(f"Could not parse sort entry {raw!r}.")
        if entry not in sortable:
            raise SortError(f"Property {entry!r} is not sortable on this endpoint.")
        keys.append(SortKey(entry, descending, alphabetical))
    return keys


def sort_documents(
    documents: Sequence[Mapping[str, Any]], keys: Sequence[SortKey], field_types: Mapping[str, str]
) -> list[Mapping[str, Any]]:
    """Stable multi-key sort; strings case-insensitive, absent values last when ascending."""
    result = list(documents)
    for key in reversed(keys):
        kind = "string" if key.alphabetical else _kind_of(field_types.get(key.prop))
        result.sort(key=_sort_key(key.prop, kind), reverse=key.descending)
    return result


def _sort_key(prop: str, kind: str) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    def key(document: Mapping[str, Any]) -> tuple[int, Any]:
        values = list(_lookup(document, prop))
        if not values and kind == "boolean":
            values = [False]
        normalized = _normalize(values[0], kind) if values else None
        return (1, "") if normalized is None else (0, normalized)

    return key


# --- a whole collection request -----------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a filtered, sorted collection, and what its pagination block needs."""

    items: list[Mapping[str, Any]]
    skip: int
    size: int
    results: int
    unfiltered: int
    link_params: tuple[tuple[str, str], ...]

    def pagination(self, collection_url: str) -> dict[str, Any]:
        """The ``pagination`` block (§3); page links keep the request's filter and sort."""
        last = max(0, math.ceil(self.results / self.size) - 1)
        block: dict[str, Any] = {
            "maxPageSizeAllowed": MAX_PAGE_SIZE,
            "skipPages": self.skip,
            "pageSize": self.size,
            "results": self.results,
            "resultsWithoutFilter": self.unfiltered,
            "firstPage": self._link(collection_url, 0),
        }
        if self.skip > 0:
            block["previousPage"] = self._link(collection_url, self.skip - 1)
        if self.skip < last:
            block["nextPage"] = self._link(collection_url, self.skip + 1)
        block["lastPage"] = self._link(collection_url, last)
        return block

    def _link(self, collection_url: str, number: int) -> str:
        extra = urlencode(self.link_params, quote_via=quote, safe="$:")
        suffix = f"&{extra}" if extra else ""
        return f"{collection_url}?skippages={number}&pagesize={self.size}{suffix}"


def page_params(params: Mapping[str, str]) -> tuple[int, int]:
    """``skippages`` (0-based, default 0) and ``pagesize`` (1..1000, default 20), §3."""
    skip = _int_param(params, "skippages", 0)
    size = _int_param(params, "pagesize", DEFAULT_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise PageError(f"pagesize must be between 1 and {MAX_PAGE_SIZE}, not {size}.")
    if skip < 0:
        raise PageError(f"skippages must be 0 or more, not {skip}.")
    return skip, size


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?\d+", raw.strip()):
        raise PageError(f"{name} must be a whole number, not {raw!r}.")
    return int(raw)


def query_collection(
    documents: Sequence[Mapping[str, Any]],
    params: Iterable[tuple[str, str]],
    spec: EndpointSpec,
    id_key: str,
    *,
    numeric_id: bool = True,
) -> Page:
    """Apply ``filter``, ``sort``, ``skippages`` and ``pagesize`` to a collection (§3).

    Without ``sort`` the order is the spec's default sorting, else the id; ``sort`` keys come
    first and the default order breaks ties.
    """
    pairs = list(params)
    values = dict(pairs)
    skip, size = page_params(values)
    selected = list(documents)
    if values.get("filter") is not None:
        condition = compile_filter(values["filter"], spec.field_types(), spec.filterable)
        selected = [document for document in selected if matches(condition, document)]
    types = spec.field_types()
    types.setdefault(id_key, "integer" if numeric_id else "string")
    keys = [_default_sort_key(spec, id_key)]
    if values.get("sort"):
        keys = parse_sort(values["sort"], spec.sortable) + keys
    ordered = sort_documents(selected, keys, types)
    return Page(
        items=ordered[skip * size : (skip + 1) * size],
        skip=skip,
        size=size,
        results=len(selected),
        unfiltered=len(documents),
        link_params=tuple((k, v) for k, v in pairs if k not in ("skippages", "pagesize")),
    )


def _default_sort_key(spec: EndpointSpec, id_key: str) -> SortKey:
    if spec.default_sorting:  # e.g. "fromDate : ascending"
        prop, _, direction = (part.strip() for part in spec.default_sorting.partition(":"))
        return SortKey(prop, descending=direction.lower() == "descending")
    return SortKey(id_key)

"""The e-conomic endpoint spec, loaded at runtime, and request-body validation driven by it.

The facts come from ``shared/reference/specs/e-conomic/restdocs-2019-endpoints.json`` (an
extraction of the 2019 REST docs: required, filterable and sortable properties and every
property's type, max length and read-only flag). The file is read where it lies and never
copied into the project. When it cannot be found (Kobling installed somewhere else), a small
built-in fallback covers the endpoints the simulator serves; see :data:`_FALLBACK`.

Validation produces e-conomic's *annotated errors* (fact sheet §11): a tree shaped like the
request body in which each failing property carries ``{"errors": [...]}`` and array elements
appear as ``{"arrayIndex": i, ...}``. Codes starting with ``SIM-`` are the simulator's own: the
real codes for these cases are not documented (fact sheet §14), so nothing should depend on them.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

__all__ = [
    "E_BARRED",
    "E_CLOSED_YEAR",
    "E_DOES_NOT_EXIST",
    "E_DUPLICATE",
    "E_MISMATCH",
    "E_NOT_SIMULATED",
    "E_NO_IDENTIFIER",
    "E_NO_YEAR",
    "E_REQUIRED",
    "E_SCALE",
    "SPEC_RELATIVE_PATH",
    "EndpointSpec",
    "ErrorNode",
    "PropertySpec",
    "SpecCatalog",
    "decimal_places",
    "find_spec_path",
    "validate_body",
]

log = logging.getLogger(__name__)

SPEC_RELATIVE_PATH: Final = Path("reference/specs/e-conomic/restdocs-2019-endpoints.json")
SHARED_DIR_ENV: Final = "KOBLING_SHARED_DIR"

# e-conomic's documented codes (fact sheet §11), used by the simulator's own checks.
E_DOES_NOT_EXIST: Final = "E06000"
E_NO_IDENTIFIER: Final = "E04500"
E_SCALE: Final = "E04740"
# The simulator's own codes, for cases whose real codes are not documented (§14).
E_NULL: Final = "SIM-NULL"
E_REQUIRED: Final = "SIM-REQUIRED"
E_DUPLICATE: Final = "SIM-DUPLICATE"
E_BARRED: Final = "SIM-BARRED"
E_CLOSED_YEAR: Final = "SIM-CLOSED-YEAR"
E_NO_YEAR: Final = "SIM-NO-ACCOUNTING-YEAR"
E_MISMATCH: Final = "SIM-MISMATCH"
E_NOT_SIMULATED: Final = "SIM-NOT-SIMULATED"
E_TYPE: Final = "SIM-TYPE"
E_MAX_LENGTH: Final = "SIM-MAXLENGTH"
E_MIN_LENGTH: Final = "SIM-MINLENGTH"
E_RANGE: Final = "SIM-RANGE"
E_ENUM: Final = "SIM-ENUM"
E_FORMAT: Final = "SIM-FORMAT"
_CHECK_HINT: Final = "Please check your request data."
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- spec model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PropertySpec:
    """One row of a spec property table (``name`` is dotted, e.g. ``lines.unit.unitNumber``)."""

    name: str
    type: str | None = None  # lower case: string, integer, number, boolean, object, array, enum
    format: str | None = None
    max_length: int | None = None
    min_length: int | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    read_only: bool = False
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndpointSpec:
    """What the spec says about one method + path.

    ``complete`` is true for entries from the spec file: then properties not in the table are
    unknown and ignored on input, as the real API ignores them. Fallback entries only list a
    few properties, so everything else is kept as sent.
    """

    method: str
    path: str
    required: tuple[str, ...] = ()
    filterable: tuple[str, ...] = ()
    sortable: tuple[str, ...] = ()
    default_sorting: str | None = None
    properties: Mapping[str, PropertySpec] = field(default_factory=dict)
    complete: bool = True

    def field_types(self) -> dict[str, str]:
        """Property name -> spec type, for typing filter and sort values."""
        return {name: prop.type for name, prop in self.properties.items() if prop.type}


def _normalize_path(path: str) -> str:
    """Spec paths mix ``/invoices/booked/`` and ``/invoices/booked``; compare without the slash."""
    return path.rstrip("/") or "/"


class SpecCatalog:
    """Endpoint specs by (method, path template such as ``/customers/:customerNumber``)."""

    def __init__(self, endpoints: Iterable[EndpointSpec], source: str) -> None:
        self.source = source
        self._endpoints = {(e.method, _normalize_path(e.path)): e for e in endpoints}

    def get(self, method: str, path: str) -> EndpointSpec:
        """The spec of an endpoint, or an empty one (nothing required, nothing filterable)."""
        key = (method.upper(), _normalize_path(path))
        return self._endpoints.get(key) or EndpointSpec(key[0], key[1], complete=False)

    @classmethod
    def load(cls, spec_path: Path | None = None) -> SpecCatalog:
        """Load ``spec_path`` if given (it must exist), else the discovered file, else fallback."""
        if spec_path is not None:
            return _load_file(Path(spec_path).resolve())
        found = find_spec_path()
        if found is None:
            log.warning("e-conomic spec file not found; the sandbox uses its built-in fallback")
            return cls(_fallback_endpoints(), "built-in fallback")
        return _load_file(found)


def find_spec_path(start: Path | None = None) -> Path | None:
    """Locate the spec: ``$KOBLING_SHARED_DIR/<rel>``, else ``<ancestor>/shared/<rel>``.

    Walking up from this module finds ``<repo>/../shared`` in a checkout, wherever it lives.
    """
    shared = os.environ.get(SHARED_DIR_ENV)
    if shared:
        candidate = Path(shared) / SPEC_RELATIVE_PATH
        if candidate.is_file():
            return candidate.resolve()
        log.warning("%s is set but %s does not exist", SHARED_DIR_ENV, candidate)
    here = (start or Path(__file__)).resolve()
    for ancestor in here.parents:
        candidate = ancestor / "shared" / SPEC_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=4)
def _load_file(path: Path) -> SpecCatalog:
    """Parse the spec file once per process (it is large and never changes while running)."""
    with path.open(encoding="utf-8") as handle:
        raw = json.load(handle)
    endpoints = [_endpoint_from_json(item) for item in raw["endpoints"]]
    return SpecCatalog(endpoints, str(path))


def _endpoint_from_json(item: Mapping[str, Any]) -> EndpointSpec:
    properties = {row["Name"]: _property_from_json(row) for row in item.get("properties") or []}
    return EndpointSpec(
        method=str(item["method"]).upper(),
        path=str(item["path"]),
        required=tuple(item.get("required") or ()),
        filterable=tuple(item.get("filterable") or ()),
        sortable=tuple(item.get("sortable") or ()),
        default_sorting=item.get("default_sorting"),
        properties=properties,
    )


def _property_from_json(row: Mapping[str, Any]) -> PropertySpec:
    values = row.get("Values")
    return PropertySpec(
        name=str(row["Name"]),
        type=str(row["Type"]).lower() if row.get("Type") else None,
        format=row.get("Format"),
        max_length=_int_or_none(row.get("Max length")),
        min_length=_int_or_none(row.get("Min length")),
        min_value=_decimal_or_none(row.get("Min value")),
        max_value=_decimal_or_none(row.get("Max value")),
        read_only=str(row.get("Read-only", "")).lower() == "true",
        values=tuple(v.strip() for v in values.split(",") if v.strip()) if values else (),
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _decimal_or_none(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


# --- built-in fallback --------------------------------------------------------------------

# Deliberately minimal: the rules the simulator's own endpoints depend on, so `kobling run`
# behaves sensibly without the shared reference directory. The spec file is the real source.
_S, _I, _B, _N = "string", "integer", "boolean", "number"
_FALLBACK: Final[dict[tuple[str, str], dict[str, Any]]] = {
    ("POST", "/customers"): {
        "required": ("currency", "customerGroup", "name", "paymentTerms", "vatZone"),
        "props": {"name": (_S, 255), "email": (_S, 255), "currency": (_S, 3)},
    },
    ("PUT", "/customers/:customerNumber"): {
        "required": ("currency", "customerGroup", "name", "paymentTerms", "vatZone"),
        "props": {"name": (_S, 255), "email": (_S, 255), "currency": (_S, 3)},
    },
    ("POST", "/products"): {
        "required": ("name", "productGroup", "productNumber"),
        "props": {"productNumber": (_S, 25), "name": (_S, 300)},
    },
    ("PUT", "/products/:productNumber"): {
        "required": ("name", "productGroup", "productNumber"),
        "props": {"productNumber": (_S, 25), "name": (_S, 300)},
    },
    ("POST", "/invoices/drafts"): {
        "required": (
            "currency",
            "customer",
            "date",
            "layout",
            "paymentTerms",
            "recipient",
            "recipient.name",
            "recipient.vatZone",
        ),
        "props": {
            "recipient.name": (_S, 250),
            "references.other": (_S, 250),
            "lines.description": (_S, 2500),
        },
    },
    ("POST", "/journals-experimental/:journalNumber/vouchers"): {
        "required": (
            "accountingYear",
            "entries.customerPayments.amount",
            "entries.customerPayments.date",
        ),
        "props": {"entries.customerPayments.text": (_S, 250)},
    },
    ("GET", "/journals-experimental"): {
        "filterable": {"journalNumber": _I, "name": _S},
    },
    ("GET", "/customers"): {
        "filterable": {
            "customerNumber": _I,
            "name": _S,
            "email": _S,
            "corporateIdentificationNumber": _S,
            "vatNumber": _S,
            "ean": _S,
            "barred": _B,
            "currency": _S,
        },
    },
    ("GET", "/products"): {
        "filterable": {"productNumber": _S, "name": _S, "barred": _B, "salesPrice": _N},
    },
    ("GET", "/invoices/drafts"): {
        "filterable": {
            "draftInvoiceNumber": _I,
            "references.other": _S,
            "customer.customerNumber": _I,
            "date": _S,
            "currency": _S,
        },
    },
    ("GET", "/invoices/booked"): {
        "filterable": {
            "bookedInvoiceNumber": _I,
            "references.other": _S,
            "customer.customerNumber": _I,
            "date": _S,
            "currency": _S,
        },
    },
}


def _fallback_endpoints() -> list[EndpointSpec]:
    endpoints = []
    for (method, path), rules in _FALLBACK.items():
        props = {
            name: PropertySpec(name, type=kind, max_length=max_length)
            for name, (kind, max_length) in rules.get("props", {}).items()
        }
        filterable: dict[str, str] = rules.get("filterable", {})
        props.update({name: PropertySpec(name, type=kind) for name, kind in filterable.items()})
        endpoints.append(
            EndpointSpec(
                method,
                path,
                required=tuple(rules.get("required", ())),
                filterable=tuple(filterable),
                sortable=tuple(filterable),
                properties=props,
                complete=False,
            )
        )
    return endpoints


# --- annotated errors ---------------------------------------------------------------------


class ErrorNode:
    """A node of the annotated-error tree; mirrors the request body (fact sheet §11)."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []
        self._children: dict[str, ErrorNode] = {}
        self._elements: dict[str, dict[int, ErrorNode]] = {}

    def child(self, key: str) -> ErrorNode:
        """The node of property ``key`` of this object."""
        return self._children.setdefault(key, ErrorNode())

    def element(self, key: str, index: int) -> ErrorNode:
        """The node of element ``index`` of array property ``key`` of this object."""
        return self._elements.setdefault(key, {}).setdefault(index, ErrorNode())

    def add(
        self, code: str, message: str, *, value: Any = None, hint: str = _CHECK_HINT
    ) -> ErrorNode:
        """Record one error; ``value`` is echoed only for scalars (as the real API does)."""
        error: dict[str, Any] = {"errorCode": code, "message": message}
        if value is not None and not isinstance(value, dict | list):
            error["value"] = value
        error["developerHint"] = hint
        self.errors.append(error)
        return self

    def __bool__(self) -> bool:
        return (
            bool(self.errors)
            or any(self._children.values())
            or any(any(nodes.values()) for nodes in self._elements.values())
        )

    def to_json(self) -> dict[str, Any]:
        """The annotated form: ``errors`` here, child objects by key, arrays as index lists."""
        out: dict[str, Any] = {}
        if self.errors:
            out["errors"] = list(self.errors)
        for key, node in self._children.items():
            if node:
                out[key] = node.to_json()
        for key, nodes in self._elements.items():
            items = [{"arrayIndex": i, **n.to_json()} for i, n in sorted(nodes.items()) if n]
            if items:
                out[key] = items  # an array's element errors replace errors on the array itself
        return out


# --- validation ---------------------------------------------------------------------------


def validate_body(body: Any, spec: EndpointSpec) -> tuple[dict[str, Any], ErrorNode]:
    """Check a POST/PUT body against its spec; return the cleaned document and the errors.

    Rules (fact sheet §1, §11): the body is an object; ``null`` is rejected anywhere; required
    properties must be present (``a.b`` only when ``a`` is present); types, lengths, ranges,
    enum values and ``full-date`` formats are checked; read-only properties are ignored, as
    are properties the spec does not know when the spec is complete.
    """
    errors = ErrorNode()
    if not isinstance(body, dict):
        errors.add(E_TYPE, "The request body must be a JSON object.")
        return {}, errors
    _scan_nulls(body, errors)
    for name in spec.required:
        _check_required(body, name.split("."), errors, name)
    cleaned = _clean_object(body, "", spec, errors)
    return cleaned, errors


def _scan_nulls(value: Any, node: ErrorNode) -> None:
    """Report every null: e-conomic does not accept null, the property must be left out."""
    if isinstance(value, dict):
        for key, item in value.items():
            if item is None:
                node.child(key).add(E_NULL, f"{key} cannot be null; omit the property instead.")
            elif isinstance(item, list):
                for index, element in enumerate(item):
                    if element is None:
                        node.element(key, index).add(E_NULL, "Array elements cannot be null.")
                    else:
                        _scan_nulls(element, node.element(key, index))
            else:
                _scan_nulls(item, node.child(key))


def _check_required(obj: dict[str, Any], parts: list[str], node: ErrorNode, name: str) -> None:
    """``a.b`` is only required when ``a`` is present ("Required Properties" in the docs)."""
    key, rest = parts[0], parts[1:]
    if key not in obj:
        if not rest:
            node.child(key).add(E_REQUIRED, f"Property {name} is required.")
        return
    value = obj[key]
    if not rest:
        return
    if isinstance(value, dict):
        _check_required(value, rest, node.child(key), name)
    elif isinstance(value, list):
        for index, element in enumerate(value):
            if isinstance(element, dict):
                _check_required(element, rest, node.element(key, index), name)


def _clean_object(
    obj: dict[str, Any], prefix: str, spec: EndpointSpec, node: ErrorNode
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in obj.items():
        name = prefix + key
        prop = spec.properties.get(name)
        if value is None or (prop is None and spec.complete):
            continue  # nulls are reported by _scan_nulls; unknown properties are ignored
        if prop is not None and prop.read_only:
            continue
        if isinstance(value, list):
            if prop is None or _check_value(value, prop, node.child(key)):
                cleaned[key] = _clean_array(value, key, name, spec, node)
        elif prop is None or _check_value(value, prop, node.child(key)):
            cleaned[key] = (
                _clean_object(value, name + ".", spec, node.child(key))
                if isinstance(value, dict)
                else value
            )
    return cleaned


def _clean_array(
    items: list[Any], key: str, name: str, spec: EndpointSpec, node: ErrorNode
) -> list[Any]:
    cleaned: list[Any] = []
    of_objects = any(prop.startswith(name + ".") for prop in spec.properties)
    for index, item in enumerate(items):
        if isinstance(item, dict):
            cleaned.append(_clean_object(item, name + ".", spec, node.element(key, index)))
        elif of_objects and item is not None:
            node.element(key, index).add(E_TYPE, f"Elements of {key} must be objects.", value=item)
        elif item is not None:
            cleaned.append(item)
    return cleaned


_TYPE_NAMES: Final = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "enum": "one of the allowed values",
}


def _check_value(value: Any, prop: PropertySpec, node: ErrorNode) -> bool:
    """Type and constraint checks of one value; False (and errors in ``node``) if it fails."""
    if prop.type and not _has_type(value, prop.type):
        label = prop.name.rsplit(".", 1)[-1]
        node.add(E_TYPE, f"{label} must be {_TYPE_NAMES.get(prop.type, prop.type)}.", value=value)
        return False
    before = len(node.errors)
    if isinstance(value, str):
        _check_string(value, prop, node)
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        _check_range(value, prop, node)
    return len(node.errors) == before


def _has_type(value: Any, spec_type: str) -> bool:
    if spec_type in ("string", "enum"):
        return isinstance(value, str)
    if spec_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if spec_type == "number":
        return isinstance(value, int | Decimal) and not isinstance(value, bool)
    if spec_type == "boolean":
        return isinstance(value, bool)
    if spec_type == "object":
        return isinstance(value, dict)
    if spec_type == "array":
        return isinstance(value, list)
    return True  # a type the extraction does not name: no check


def _check_string(value: str, prop: PropertySpec, node: ErrorNode) -> None:
    label = prop.name.rsplit(".", 1)[-1]
    if prop.max_length is not None and len(value) > prop.max_length:
        node.add(
            E_MAX_LENGTH,
            f"{label} cannot be longer than {prop.max_length} characters.",
            value=value,
        )
    if prop.min_length is not None and len(value) < prop.min_length:
        node.add(
            E_MIN_LENGTH,
            f"{label} must be at least {prop.min_length} characters long.",
            value=value,
        )
    if prop.values and value.casefold() not in {v.casefold() for v in prop.values}:
        allowed = ", ".join(prop.values)
        node.add(E_ENUM, f"{label} must be one of: {allowed}.", value=value)
    if prop.format == "full-date" and not _is_full_date(value):
        node.add(E_FORMAT, f"{label} must be a date formatted YYYY-MM-DD.", value=value)


def _is_full_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def decimal_places(value: int | Decimal) -> int:
    """Decimal places as written: e-conomic is .NET, whose decimals keep trailing zeros."""
    if isinstance(value, int):
        return 0
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _check_range(value: int | Decimal, prop: PropertySpec, node: ErrorNode) -> None:
    label = prop.name.rsplit(".", 1)[-1]
    if prop.min_value is not None and value < prop.min_value:
        node.add(E_RANGE, f"{label} must be at least {prop.min_value}.", value=value)
    if prop.max_value is not None and value > prop.max_value:
        node.add(E_RANGE, f"{label} must be at most {prop.max_value}.", value=value)

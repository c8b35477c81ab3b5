"""What the transfer page shows, read out of the snapshots: stages, decisions, changes.

Pure functions over the stored snapshot data, so they are tested without a browser.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kobling.accounting.plan import Decision
from kobling.domain.serialize import to_jsonable

MAX_CHANGES = 200


@dataclass(frozen=True)
class Stage:
    stage: str
    created_at: Any
    json: str


@dataclass(frozen=True)
class Change:
    path: str
    before: str
    after: str


@dataclass(frozen=True)
class Comparison:
    """An order seen again after its transfer: the original beside the changed data."""

    stage: str
    created_at: Any
    changes: list[Change]
    original: str
    changed: str


def pretty(data: Any) -> str:
    return json.dumps(to_jsonable(data), indent=2, ensure_ascii=False, sort_keys=False)


def stages(snapshots: Iterable[Any]) -> list[Stage]:
    return [Stage(s.stage, s.created_at, pretty(s.data)) for s in snapshots]


def decisions(snapshots: Sequence[Any]) -> list[Decision]:
    """Every decision with its reason, in the order the stages made them (latest attempt)."""
    found: list[Decision] = []
    for s in snapshots:
        data: Mapping[str, Any] = s.data or {}
        if s.stage == "received":
            found = []  # a new attempt starts: show its decisions, not both
        elif s.stage == "plan":
            found = [d for d in found if d.subject != "plan"]
            found.extend(_plan_decisions(data))
        elif s.stage == "eligibility":
            choice = "eligible" if data.get("eligible") else "not eligible"
            found.append(Decision("eligibility", choice, str(data.get("reason", ""))))
        elif s.stage == "customer":
            what = data.get("action", "")
            found.append(Decision("customer", f"{what} {data.get('number', '')}".strip(), ""))
        elif s.stage == "booking decision":
            choice = "book" if data.get("book") else "leave as draft"
            found.append(Decision("booking", choice, str(data.get("reason", ""))))
        elif s.stage == "payment":
            choice = "registered" if data.get("registered") else "not registered"
            found.append(Decision("payment", choice, str(data.get("why", ""))))
    return found


def _plan_decisions(data: Mapping[str, Any]) -> list[Decision]:
    if "held" in data:
        return [Decision("plan", "held", str(data["held"]))]
    plan = data.get("plan") or {}
    made = [
        Decision(str(d.get("subject", "")), str(d.get("choice", "")), str(d.get("reason", "")))
        for d in plan.get("decisions", ())
    ]
    for line in plan.get("lines", ()):
        if line.get("reason"):
            subject = f"line {line.get('description') or line.get('product_number', '')}"
            made.append(Decision(subject, f"VAT {line.get('vat_rate')}%", str(line["reason"])))
    return made


def comparisons(snapshots: Iterable[Any]) -> list[Comparison]:
    """Snapshots that hold an order's original and changed data (see engine/amendments.py)."""
    found = []
    for s in snapshots:
        data = s.data or {}
        if isinstance(data, Mapping) and "original" in data and "changed" in data:
            found.append(
                Comparison(
                    s.stage,
                    s.created_at,
                    differences(data["original"], data["changed"]),
                    pretty(data["original"]),
                    pretty(data["changed"]),
                )
            )
    return found


def differences(before: Any, after: Any) -> list[Change]:
    """Every leaf that differs, by its path ("lines[0].quantity"), at most ``MAX_CHANGES``."""
    old, new = dict(_leaves(before)), dict(_leaves(after))
    paths = [p for p in dict.fromkeys([*old, *new]) if old.get(p) != new.get(p)]
    return [Change(p, old.get(p, "—"), new.get(p, "—")) for p in paths[:MAX_CHANGES]]


def _leaves(value: Any, path: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, json.dumps(to_jsonable(value), ensure_ascii=False)

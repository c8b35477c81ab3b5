"""``kobling preview``: one source payload through normalize → eligible? → map → validate → plan.

Nothing is written anywhere and no remote is called: the preview shows what Kobling *would* do
with an order, with the reason for every decision, so a shop owner or integrator can check
settings before switching a connection on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from kobling.accounting.plan import DocumentPlan, PlannedLine, plan_invoice
from kobling.connectors import registry
from kobling.engine.eligibility import decide_eligibility
from kobling.engine.settings import SettingsError, validate_connection_settings
from kobling.engine.transfer import policy_for
from kobling.errors import PermanentError


def _text(amount: Decimal) -> str:
    return f"{amount:f}"


def _rate(rate: Decimal) -> str:
    return f"{rate.normalize():f}"


def _line(line: PlannedLine) -> dict[str, Any]:
    return {
        "kind": line.kind,
        "sku": line.sku or line.product_number,
        "product": line.product_number,
        "description": line.description,
        "quantity": _text(line.quantity),
        "unit_price_net": _text(line.unit_net_price),
        "discount": _text(line.discount),
        "vat_rate": _rate(line.vat_rate),
        "vat_code": line.vat_code,
        "net": _text(line.net),
        "vat": _text(line.vat),
        "reason": line.reason,
    }


def _document(plan: DocumentPlan) -> dict[str, Any]:
    return {
        "kind": "invoice",
        "currency": plan.currency,
        "reference": plan.reference,
        "date": plan.document_date.isoformat(),
        "customer": {
            "action": "match or create",
            "match_field": plan.customer.match_field,
            "match_value": plan.customer.match_value,
            "vat_zone": plan.customer.vat_zone.value,
        },
        "lines": [_line(line) for line in plan.lines],
        "totals": {"net": _text(plan.net), "vat": _text(plan.vat), "gross": _text(plan.gross)},
        "rounding": {
            "difference": _text(plan.rounding),
            "action": "rounding line" if plan.rounding else "none",
        },
    }


def _split_settings(flat: dict[str, Any]) -> tuple[dict[str, Any], datetime | None]:
    """Accept the preview's flat settings file as well as full connection settings."""
    settings: dict[str, Any] = {
        "source": dict(flat.get("source", {})),
        "target": dict(flat.get("target", {})),
    }
    start: datetime | None = None
    for key, value in flat.items():
        if key in ("source", "target"):
            continue
        if key == "eligible_states":
            settings["source"]["eligible_states"] = value
        elif key == "start_date":
            text = str(value)
            if "T" in text:
                moment = datetime.fromisoformat(text)
                start = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            else:
                start = datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        else:
            settings[key] = value
    return settings, start


def preview(
    payload: dict[str, Any],
    flat_settings: dict[str, Any] | None = None,
    *,
    source_kind: str,
    target_kind: str,
) -> dict[str, Any]:
    raw, start = _split_settings(flat_settings or {})
    settings = validate_connection_settings(source_kind, target_kind, raw)
    spec = registry.get(source_kind)
    if spec.offline_source is None:
        raise SettingsError(f"{spec.title} payloads cannot be previewed")
    source = spec.offline_source(settings["source"])
    result: dict[str, Any] = {"eligible": False, "reasons": [], "document": None, "errors": []}
    try:
        order = source.normalize(payload)
        verdict = decide_eligibility(order, settings["source"]["eligible_states"], start)
        result["eligible"] = verdict.eligible
        result["reasons"].append(verdict.reason)
        plan = plan_invoice(order, policy_for(settings))
    except PermanentError as problem:
        result["eligible"] = False
        result["errors"].append(
            {"code": problem.code or "held", "message": problem.reason, "fix": problem.fix}
        )
        return result
    result["reasons"] += [f"{d.subject}: {d.choice} — {d.reason}" for d in plan.decisions]
    result["document"] = _document(plan)
    return result

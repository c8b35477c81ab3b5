"""HTML form fields generated from the settings schemas the connectors declare.

A connection's settings are three pydantic models (the engine's, the source's, the target's);
each field becomes one input: a checkbox for a flag, a select for a choice, a text box for a
word or number, a list as comma-separated words, a mapping as JSON. The names are
``<part>.<field>`` (``engine.rounding_tolerance``, ``target.invoice_mode``). Submitted values go
back through ``validate_connection_settings``, whose messages name the field.
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from kobling.connectors import registry
from kobling.engine.settings import EngineSettings


@dataclass(frozen=True)
class FormField:
    name: str  # "<part>.<field>"
    label: str
    kind: Literal["checkbox", "select", "text", "list", "json", "secret"]
    value: str
    checked: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""


def _kind(annotation: Any) -> tuple[str, tuple[str, ...]]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return _kind(inner[0]) if len(inner) == 1 else ("text", ())
    if annotation is bool:
        return "checkbox", ()
    if origin is Literal:
        return "select", tuple(str(a) for a in get_args(annotation))
    if origin in (list, tuple):
        return "list", ()
    if origin is dict:
        return "json", ()
    return "text", ()


def _fields(part: str, model: type[BaseModel], current: Mapping[str, Any]) -> list[FormField]:
    fields = []
    for name, info in model.model_fields.items():
        kind, choices = _kind(info.annotation)
        value = current.get(name, info.default)
        if kind == "list":
            shown = ", ".join(str(v) for v in value or ())
        elif kind == "json":
            shown = json.dumps(value or {}, ensure_ascii=False)
        else:
            shown = "" if value is None else str(value)
        fields.append(
            FormField(
                name=f"{part}.{name}",
                label=name.replace("_", " "),
                kind=kind,  # type: ignore[arg-type]
                value=shown,
                checked=bool(value) if kind == "checkbox" else False,
                choices=choices,
                help=info.description or "",
            )
        )
    return fields


def settings_form(
    source_kind: str, target_kind: str, settings: Mapping[str, Any]
) -> dict[str, list[FormField]]:
    """The form's sections: the connection's own settings, then the source's and target's."""
    return {
        "Connection": _fields("engine", EngineSettings, settings),
        registry.get(source_kind).title: _fields(
            "source", registry.get(source_kind).settings_model, settings.get("source", {})
        ),
        registry.get(target_kind).title: _fields(
            "target", registry.get(target_kind).settings_model, settings.get("target", {})
        ),
    }


def parse_settings_form(
    source_kind: str, target_kind: str, form: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The submitted form as settings (to validate), and problems found while reading it."""
    models: dict[str, type[BaseModel]] = {
        "engine": EngineSettings,
        "source": registry.get(source_kind).settings_model,
        "target": registry.get(target_kind).settings_model,
    }
    settings: dict[str, Any] = {"source": {}, "target": {}}
    problems: list[str] = []
    for part, model in models.items():
        into = settings if part == "engine" else settings[part]
        for name, info in model.model_fields.items():
            key = f"{part}.{name}"
            kind, _ = _kind(info.annotation)
            raw = form.get(key)
            if kind == "checkbox":
                into[name] = raw is not None
                continue
            if raw is None:
                continue
            if kind == "list":
                into[name] = [item.strip() for item in raw.split(",") if item.strip()]
            elif kind == "json":
                try:
                    into[name] = json.loads(raw or "{}")
                except ValueError:
                    problems.append(f'{key}: not valid JSON (write it like {{"key": "value"}})')
            elif raw == "" and info.default is None:
                into[name] = None
            else:
                into[name] = raw
    return settings, problems


# -- credentials: write-only ------------------------------------------------------------------


def credential_fields(kind: str) -> list[FormField]:
    """One empty input per credential field: stored values are never sent to the browser."""
    model = registry.get(kind).credentials_model
    return [
        FormField(
            name=f"credentials.{name}",
            label=name.replace("_", " "),
            kind="secret",
            value="",
            help=info.description or "",
        )
        for name, info in model.model_fields.items()
    ]


def parse_credentials_form(kind: str, form: Mapping[str, str]) -> dict[str, str]:
    """The credential fields that were filled in (an empty field keeps the stored value)."""
    model = registry.get(kind).credentials_model
    return {
        name: form[f"credentials.{name}"].strip()
        for name in model.model_fields
        if form.get(f"credentials.{name}", "").strip()
    }

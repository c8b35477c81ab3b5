"""Connection settings, validated by the schemas the connectors declare.

A connection's settings are ``{"source": …, "target": …}`` plus the engine's own keys. Each part
is checked by its connector's pydantic model, so a typo or an impossible value is refused with a
message naming the field, and the stored settings carry every default explicitly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kobling.connectors import registry


class SettingsError(ValueError):
    """Settings that cannot be used; the message names each bad field and why."""


class EngineSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    use_webhooks: bool = Field(default=True, description="Register webhooks in the source")
    rounding_tolerance: Decimal = Field(
        default=Decimal("0.05"),
        ge=0,
        le=1,
        description="Largest difference to the shop's total evened out by a rounding line",
    )
    seller_country: str = Field(
        default="DK", pattern="^[A-Z]{2}$", description="Where the shop is VAT registered"
    )
    oss: bool = Field(default=False, description="The shop uses the EU One-Stop-Shop")
    timezone: str = Field(
        default="Europe/Copenhagen",
        description="The seller's time zone: invoice dates and VAT dates are its local dates",
    )
    tax_point: Literal["order_date", "paid_date"] = Field(
        default="order_date", description="The date whose VAT rates apply"
    )
    tax_classes: dict[str, str] = Field(
        default={}, description="Shop tax class → standard, reduced, reduced2, super_reduced, zero"
    )
    fallback_product: str = Field(
        default="", description="Product for lines without SKU (empty: hold such orders)"
    )
    gift_card_product: str = Field(
        default="", description="Product (on a balance account) for sold gift cards"
    )
    gift_card_skus: list[str] = Field(default=[], description="SKUs that are gift cards")
    draft_payment_methods: list[str] = Field(
        default=[],
        description="Payment methods whose invoices are never booked automatically (left as "
        "drafts), e.g. cash on delivery",
    )
    settled_payment_methods: list[str] = Field(
        default=[],
        description="Payment methods whose money is received at checkout: their payment is "
        "registered in the accounting system",
    )
    booking_trial_days: int = Field(
        default=14,
        ge=0,
        description="Invoices stay drafts for this many days after activation unless booking "
        "is confirmed earlier",
    )
    after_booking_changes: Literal["warn", "credit_and_reissue"] = Field(
        default="warn",
        description="An order edited after its invoice was booked: warn, or credit the invoice "
        "and book a new one",
    )
    after_booking_cancellation: Literal["warn", "credit_note"] = Field(
        default="warn",
        description="An order cancelled after its invoice was booked: warn, or credit it",
    )
    booking_confirmed: bool = Field(
        default=False, description="The user checked the trial drafts and switched booking on"
    )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return _check_timezone(value)


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone such as 'Europe/Copenhagen'") from None
    return name


def _problems(prefix: str, error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        lines.append(f"{where}: {item['msg']}")
    return lines


def validate_connection_settings(
    source_kind: str, target_kind: str, settings: dict[str, Any]
) -> dict[str, Any]:
    """Return the settings with defaults filled in, or raise ``SettingsError``."""
    problems: list[str] = []
    result: dict[str, Any] = {}
    parts = (
        ("source", registry.get(source_kind).settings_model),
        ("target", registry.get(target_kind).settings_model),
    )
    for name, model in parts:
        try:
            result[name] = model.model_validate(settings.get(name, {})).model_dump(mode="json")
        except ValidationError as error:
            problems += _problems(name, error)
    own = {k: v for k, v in settings.items() if k not in ("source", "target")}
    try:
        result.update(EngineSettings.model_validate(own).model_dump(mode="json"))
    except ValidationError as error:
        problems += _problems("", error)
    if problems:
        raise SettingsError("invalid connection settings: " + "; ".join(problems))
    return result


def validate_credentials(kind: str, credentials: dict[str, Any]) -> None:
    """Check credentials against the connector's schema without ever echoing a value."""
    try:
        registry.get(kind).credentials_model.model_validate(credentials)
    except ValidationError as error:
        fields = sorted({".".join(str(p) for p in item["loc"]) for item in error.errors()})
        raise SettingsError(f"invalid credentials for {kind}: check {', '.join(fields)}") from None


def base_url_problem(base_url: str) -> str:
    """'' for a usable system address, else what is wrong with it and how to write it."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return (
            f"the address {base_url!r} is not a web address: write it with http:// or "
            "https://, e.g. https://shop.example.com/"
        )
    return ""

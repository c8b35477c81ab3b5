"""Typed settings of a WooCommerce shop: credentials (secret) and source behaviour."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
)


class WooCommerceCredentials(BaseModel):
    """REST API keys (WooCommerce → Settings → Advanced → REST API) and the webhook secret."""

    model_config = ConfigDict(extra="forbid")
    consumer_key: SecretStr = Field(description="Consumer key, starts with ck_")
    consumer_secret: SecretStr = Field(description="Consumer secret, starts with cs_")
    webhook_secret: SecretStr = Field(
        default=SecretStr(""), description="Secret Kobling sets on the webhooks it registers"
    )


class WooCommerceSourceSettings(BaseModel):
    """How orders are read from the shop."""

    model_config = ConfigDict(extra="forbid")
    eligible_states: list[str] = Field(
        default=["processing", "completed"],
        description="Order states that make an order ready for the books",
    )
    auth_in_query: bool = Field(
        default=False,
        description="Send the keys as query parameters (for servers that drop the "
        "Authorization header)",
    )
    vat_number_meta_keys: list[str] = Field(
        default=[
            "_billing_vat_number",
            "_vat_number",
            "vat_number",
            "_billing_eu_vat_number",
            "billing_vat",
        ],
        description="order meta_data keys EU VAT plugins store the VAT number under",
    )

    ean_meta_keys: list[str] = Field(
        default=["_billing_ean", "billing_ean", "_ean", "ean", "_billing_gln", "gln"],
        description="order meta_data keys holding the customer's EAN/GLN (public customers)",
    )

    @field_validator("eligible_states")
    @classmethod
    def _known_states(cls, states: list[str]) -> list[str]:
        unknown = [s for s in states if s not in ORDER_STATUSES]
        if unknown or not states:
            raise ValueError(
                f"unknown order state(s) {unknown}; choose from {', '.join(ORDER_STATUSES)}"
            )
        return states

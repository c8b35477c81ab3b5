"""Typed settings of an e-conomic agreement: tokens (secret) and how invoices are made."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class EconomicCredentials(BaseModel):
    """The two tokens of e-conomic's REST API (fact sheet §2)."""

    model_config = ConfigDict(extra="forbid")
    app_secret_token: SecretStr = Field(description="X-AppSecretToken of the Kobling app")
    agreement_grant_token: SecretStr = Field(
        description="X-AgreementGrantToken shown when the agreement added the app"
    )


CustomerMatchField = Literal[
    "email", "corporate_identification_number", "vat_number", "ean", "customer_number", "phone"
]


class EconomicTargetSettings(BaseModel):
    """How orders become invoices in e-conomic; numbers refer to the agreement's setup."""

    model_config = ConfigDict(extra="forbid")
    invoice_mode: Literal["draft", "book"] = Field(
        default="book", description="Leave invoices as drafts, or book them"
    )
    customer_match_field: CustomerMatchField = Field(
        default="email", description="Field an existing customer is found by"
    )
    customer_group_b2c: int = Field(default=1, ge=1, description="Group of consumers")
    customer_group_b2b: int = Field(default=2, ge=1, description="Group of business customers")
    customer_group_ean: int = Field(
        default=2, ge=1, description="Group of public customers invoiced by EAN"
    )
    collective_customer: int | None = Field(
        default=None,
        ge=1,
        description="Put every consumer (B2C) order on this one customer; the invoice's "
        "recipient still carries the buyer's name and address",
    )
    update_customers: bool = Field(
        default=False, description="Update a matched customer whose name or address changed"
    )
    payment_terms: int = Field(default=1, ge=1, description="Payment terms number")
    layout: int = Field(default=19, ge=1, description="Layout number of the invoice")
    vat_zone_domestic: int = Field(default=1, ge=1)
    vat_zone_eu: int = Field(default=2, ge=1)
    vat_zone_abroad: int = Field(default=3, ge=1)
    auto_create_products: bool = Field(
        default=True, description="Create a product that does not exist yet (by SKU)"
    )
    product_group: int = Field(default=1, ge=1, description="Group of created products")
    shipping_product: str = Field(default="SHIPPING", max_length=25)
    fee_product: str = Field(default="FEE", max_length=25)
    rounding_product: str = Field(default="ROUNDING", max_length=25)
    rounding_product_group: int = Field(
        default=3, ge=1, description="A product group without VAT, for rounding lines"
    )
    untaxed_shipping_product: str = Field(default="SHIPPING0", max_length=25)
    untaxed_fee_product: str = Field(default="FEE0", max_length=25)
    payment_terms_by_method: dict[str, int] = Field(
        default={}, description="Payment terms number per shop payment method"
    )
    payment_journal: int | None = Field(
        default=None, ge=1, description="Journal (daybook) customer payments are entered in"
    )
    payment_contra_accounts: dict[str, int] = Field(
        default={},
        description="Contra account per payment method (bank, PSP clearing); the journal's "
        "default when absent",
    )
    vat_product_groups: dict[str, int] = Field(
        default={"25": 1, "0": 2},
        description="Product group per VAT rate on the domestic zone (or per VAT code such as "
        "'DE:19:oss'); created products go into the group of their line's VAT",
    )
    seller_country: str = Field(default="DK", pattern="^[A-Z]{2}$")
    base_currency: str = Field(default="DKK", pattern="^[A-Z]{3}$")
    calls_per_minute: int | None = Field(
        default=None,
        ge=1,
        description="At most this many calls a minute to the agreement, shared by every "
        "worker (empty: no limit). e-conomic publishes no per-minute limit, only fair use of "
        "50,000 calls a day per agreement",
    )

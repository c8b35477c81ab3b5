"""Typed settings of a Tryton database: the key (secret) and how invoices are made there.

Ids refer to records of that database (taxes, accounts, journals, payment methods). For a
sandbox made by ``kobling tryton init`` they are all in its ``kobling-tryton.json`` and
``local.connection_settings`` fills them in.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class TrytonCredentials(BaseModel):
    """A REST application key, and optionally a user for JSON-RPC (the pay wizard)."""

    model_config = ConfigDict(extra="forbid")
    application_key: SecretStr = Field(
        description="A validated REST key (User > Preferences > Applications in Tryton)"
    )
    login: str = Field(
        default="",
        description="Tryton user for registering payments (the pay wizard needs JSON-RPC)",
    )
    password: SecretStr | None = Field(default=None, description="That user's password")


CustomerMatchField = Literal["email", "vat_number", "customer_number", "phone"]


class TrytonTargetSettings(BaseModel):
    """How orders become customer invoices in one Tryton company."""

    model_config = ConfigDict(extra="forbid")
    company: int = Field(ge=1, description="Id of the company the invoices belong to")
    invoice_mode: Literal["draft", "validate", "book"] = Field(
        default="book",
        description="Leave invoices as drafts, validate them (checked, not numbered), or post them",
    )
    customer_match_field: CustomerMatchField = Field(
        default="email",
        description="Field an existing party is found by: e-mail, VAT identifier, or the "
        "party's code (customer_number)",
    )
    collective_customer: int | None = Field(
        default=None,
        ge=1,
        description="Id of one party for every consumer (B2C) order, instead of a party each",
    )
    receivable_account: int = Field(ge=1, description="Receivable account of the invoices")
    revenue_account: int = Field(ge=1, description="Revenue account of the invoice lines")
    journal: int = Field(ge=1, description="Revenue journal of customer invoices")
    taxes: dict[str, int] = Field(
        default={},
        description="Tax id per VAT code as Kobling decides it: 'DK:25', 'DE:19' (also used for "
        "'DE:19:oss' unless that is listed itself), 'reverse_charge', 'export'",
    )
    auto_create_products: bool = Field(
        default=True, description="Create a product that does not exist yet (by SKU as code)"
    )
    product_category: int | None = Field(
        default=None, ge=1, description="Accounting category of created products"
    )
    payment_term: int | None = Field(
        default=None, ge=1, description="Payment term of the invoices (none: due at once)"
    )
    payment_methods: dict[str, int] = Field(
        default={},
        description="Tryton invoice payment method per shop payment method (for registering "
        "payments)",
    )
    default_payment_method: int | None = Field(
        default=None, ge=1, description="Payment method for shop methods not listed"
    )
    late_invoice_date: Literal["last_posted", "hold"] = Field(
        default="last_posted",
        description="Tryton numbers invoices in date order. An order that arrives after a "
        "later-dated invoice was posted is dated like that invoice (last_posted, noted in the "
        "log), or held (hold)",
    )
    rounding_tolerance: str = Field(
        default="0.05",
        pattern=r"^\d+(\.\d{1,2})?$",
        description="Largest difference between Tryton's total and the shop's that is evened "
        "out with a rounding line",
    )
    shipping_product: str = Field(default="SHIPPING")
    fee_product: str = Field(default="FEE")
    rounding_product: str = Field(default="ROUNDING")
    untaxed_shipping_product: str = Field(default="SHIPPING0")
    untaxed_fee_product: str = Field(default="FEE0")

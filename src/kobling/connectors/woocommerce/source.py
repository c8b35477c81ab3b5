"""Reading orders from WooCommerce and normalizing them to the canonical model.

Facts (shared/reference/apis/woocommerce.md §4): amounts are strings; a line's ``total`` is
net after discount with ``total_tax`` beside it, whether or not the shop shows prices with tax;
``subtotal`` is before discount; shipping, fee and coupon lines are separate; refunds carry a
negative ``total``; the VAT number is not a core field but plugin ``meta_data``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from kobling.connectors.woocommerce.client import WooCommerceClient, read_json
from kobling.connectors.woocommerce.settings import (
    WooCommerceCredentials,
    WooCommerceSourceSettings,
)
from kobling.domain.address import Address
from kobling.domain.customer import Customer
from kobling.domain.money import Money, to_decimal
from kobling.domain.order import (
    Coupon,
    Fee,
    Order,
    OrderLine,
    Payment,
    Refund,
    RefundLine,
    ShippingLine,
    SourceTotals,
)
from kobling.errors import PermanentError

# How many search hits ``order_by_number`` reads (at most two pages): a short number like "12"
# is part of many other orders' numbers, phone numbers and postcodes.
SEARCH_LIMIT = 200


def parse_gmt(value: str | None) -> datetime | None:
    """WooCommerce ``*_gmt`` fields have no zone suffix; they are UTC."""
    if not value:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def wc_time(moment: datetime) -> str:
    """An instant as WooCommerce's date filters expect it (UTC with dates_are_gmt=true)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class WooCommerceSource:
    """The order source of one shop."""

    def __init__(
        self, base_url: str, credentials: Mapping[str, Any], settings: Mapping[str, Any]
    ) -> None:
        creds = WooCommerceCredentials.model_validate(dict(credentials))
        self.settings = WooCommerceSourceSettings.model_validate(dict(settings))
        self.client = WooCommerceClient(
            base_url,
            creds.consumer_key.get_secret_value(),
            creds.consumer_secret.get_secret_value(),
            auth_in_query=self.settings.auth_in_query,
        )

    def fetch_order(self, source_id: str) -> dict[str, Any]:
        data = read_json(self.client.get(f"orders/{int(source_id)}"))
        assert isinstance(data, dict)
        return data

    def order_by_number(self, number: str) -> dict[str, Any] | None:
        """The order the shop shows as ``number``, or None when it has no such order.

        §4: ``number`` is a string that plugins (sequential numbering) set apart from the id,
        so the list's ``search`` filter looks first (§4 list filters; ``status`` defaults to
        ``any``, which leaves out the trash). Search matches more than the number (billing
        fields, item names, parts of words), so only an exact ``number`` counts, among the
        first ``SEARCH_LIMIT`` hits. Without a hit, a number that is an id is fetched by id
        and counts when that order's number is the same (a shop whose search misses it).
        """
        wanted = number.strip()
        if not wanted:
            return None
        hits = self.client.paginate("orders", {"search": wanted})
        for order in islice(hits, SEARCH_LIMIT):
            if str(order.get("number") or order.get("id")) == wanted:
                return dict(order)
        if not wanted.isdigit():
            return None
        try:
            order = self.fetch_order(wanted)
        except PermanentError as problem:
            if problem.code == "404":
                return None
            raise
        return order if str(order.get("number") or order.get("id")) == wanted else None

    def changed_orders(
        self, modified_after: datetime, statuses: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """Orders modified after the instant, oldest change first, optionally only some states.

        §3/§4: the bound is exclusive and compared in GMT; oldest first so a crash mid-way
        leaves nothing behind the cursor. The poll reads every state (ineligible orders are
        recorded as skipped, with their reason); an import of past orders asks for the
        eligible states only.
        """
        params = {
            "modified_after": wc_time(modified_after),
            "dates_are_gmt": "true",
            "orderby": "modified",
            "order": "asc",
        }
        if statuses:
            params["status"] = ",".join(statuses)
        yield from self.client.paginate("orders", params)

    def fetch_refund(self, order_id: str, refund_id: str) -> dict[str, Any]:
        data = read_json(self.client.get(f"orders/{int(order_id)}/refunds/{int(refund_id)}"))
        assert isinstance(data, dict)
        return data

    def normalize_refund(self, payload: dict[str, Any], currency: str) -> Refund:
        try:
            return normalize_refund(payload, currency)
        except (KeyError, ValueError, TypeError) as exc:
            raise PermanentError(
                f"refund {payload.get('id')} could not be read: {exc}",
                "check the refund in WooCommerce; if it looks right, report this to Kobling "
                "with the received payload from the log",
                code="normalize",
            ) from exc

    def normalize(self, payload: dict[str, Any]) -> Order:
        try:
            return normalize_order(
                payload, self.settings.vat_number_meta_keys, self.settings.ean_meta_keys
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise PermanentError(
                f"order {payload.get('number') or payload.get('id')} could not be read: {exc}",
                "check the order in WooCommerce (billing country, amounts); if it looks right, "
                "report this to Kobling with the received payload from the log",
                code="normalize",
            ) from exc

    def close(self) -> None:
        self.client.close()


def _money(value: Any, currency: str) -> Money:
    return Money(to_decimal(value if value is not None else "0"), currency)


def _meta(payload: Mapping[str, Any], keys: list[str]) -> str:
    for item in payload.get("meta_data") or []:
        if item.get("key") in keys and item.get("value"):
            return str(item["value"]).strip()
    return ""


def _address(data: Mapping[str, Any] | None) -> Address | None:
    if not data or not any(data.values()):
        return None
    return Address(
        country=str(data.get("country") or ""),
        first_name=str(data.get("first_name") or ""),
        last_name=str(data.get("last_name") or ""),
        company=str(data.get("company") or ""),
        street1=str(data.get("address_1") or ""),
        street2=str(data.get("address_2") or ""),
        postcode=str(data.get("postcode") or ""),
        city=str(data.get("city") or ""),
        state=str(data.get("state") or ""),
        email=str(data.get("email") or ""),
        phone=str(data.get("phone") or ""),
    )


def _customer(
    payload: Mapping[str, Any], vat_keys: list[str], ean_keys: list[str] | None = None
) -> Customer:
    billing = _address(payload.get("billing")) or Address(country="")
    customer_id = payload.get("customer_id") or 0
    return Customer(
        billing=billing,
        source_id=str(customer_id) if customer_id else None,
        email=billing.email.lower(),
        phone=billing.phone,
        vat_number=_meta(payload, vat_keys).replace(" ", "").upper(),
        ean=_meta(payload, ean_keys or []).replace(" ", ""),
    )


def _line(item: Mapping[str, Any], currency: str) -> OrderLine:
    quantity = to_decimal(item.get("quantity") or 0)
    subtotal = _money(item.get("subtotal"), currency)
    net = _money(item.get("total"), currency)
    unit = Money(subtotal.amount / quantity if quantity else subtotal.amount, currency)
    return OrderLine(
        source_line_id=str(item["id"]),
        name=str(item.get("name") or ""),
        quantity=quantity,
        unit_price=unit,
        net_total=net,
        tax=_money(item.get("total_tax"), currency),
        sku=(str(item.get("sku") or "").strip() or None),
        discount=subtotal - net,
        tax_class=str(item.get("tax_class") or "") or "standard",
        product_source_id=str(item.get("variation_id") or item.get("product_id") or "") or None,
    )


def normalize_order(
    payload: Mapping[str, Any], vat_keys: list[str], ean_keys: list[str] | None = None
) -> Order:
    """The canonical order of a WooCommerce REST v3 order document."""
    cur = str(payload.get("currency") or "USD")
    created = parse_gmt(payload.get("date_created_gmt"))
    if created is None:
        raise ValueError("the order has no creation date")
    modified = parse_gmt(payload.get("date_modified_gmt")) or created
    paid = parse_gmt(payload.get("date_paid_gmt"))
    total = _money(payload.get("total"), cur)
    payments: tuple[Payment, ...] = ()
    if paid is not None:
        payments = (
            Payment(
                method=str(payload.get("payment_method") or ""),
                method_title=str(payload.get("payment_method_title") or ""),
                transaction_id=str(payload.get("transaction_id") or ""),
                amount=total,
                paid_at=paid,
            ),
        )
    return Order(
        source_id=str(payload["id"]),
        number=str(payload.get("number") or payload["id"]),
        status=str(payload.get("status") or ""),
        currency=cur,
        created_at=created,
        modified_at=modified,
        paid_at=paid,
        customer=_customer(payload, vat_keys, ean_keys),
        shipping_address=_address(payload.get("shipping")),
        prices_include_tax=bool(payload.get("prices_include_tax")),
        lines=tuple(_line(item, cur) for item in payload.get("line_items") or []),
        shipping_lines=tuple(
            ShippingLine(
                source_line_id=str(s["id"]),
                method=str(s.get("method_title") or ""),
                net=_money(s.get("total"), cur),
                tax=_money(s.get("total_tax"), cur),
            )
            for s in payload.get("shipping_lines") or []
        ),
        fees=tuple(
            Fee(
                source_line_id=str(f["id"]),
                name=str(f.get("name") or ""),
                net=_money(f.get("total"), cur),
                tax=_money(f.get("total_tax"), cur),
                taxable=f.get("tax_status", "taxable") == "taxable",
            )
            for f in payload.get("fee_lines") or []
        ),
        coupons=tuple(
            Coupon(
                code=str(c.get("code") or ""),
                discount=_money(c.get("discount"), cur),
                discount_tax=_money(c.get("discount_tax"), cur),
            )
            for c in payload.get("coupon_lines") or []
        ),
        payments=payments,
        refunds=tuple(
            Refund(
                source_id=str(r["id"]),
                amount=Money(-to_decimal(r.get("total") or "0"), cur),
                reason=str(r.get("reason") or ""),
            )
            for r in payload.get("refunds") or []
        ),
        totals=SourceTotals(
            gross=total,
            tax=_money(payload.get("total_tax"), cur),
            shipping=_money(payload.get("shipping_total"), cur),
            discount=_money(payload.get("discount_total"), cur),
        ),
        note=str(payload.get("customer_note") or ""),
        payment_method=str(payload.get("payment_method") or ""),
    )


def normalize_refund(payload: Mapping[str, Any], currency: str) -> Refund:
    """A refund of ``GET /orders/{id}/refunds/{id}`` (§5): negative lines become positive."""
    lines = []
    for item in payload.get("line_items") or []:
        original = next(
            (
                str(m.get("value"))
                for m in item.get("meta_data") or []
                if m.get("key") == "_refunded_item_id"
            ),
            str(item.get("id")),
        )
        lines.append(
            RefundLine(
                order_line_id=original,
                quantity=abs(to_decimal(item.get("quantity") or 0)),
                net=Money(-to_decimal(item.get("total") or "0"), currency),
                tax=Money(-to_decimal(item.get("total_tax") or "0"), currency),
            )
        )
    return Refund(
        source_id=str(payload["id"]),
        amount=Money(to_decimal(payload.get("amount") or "0"), currency),
        reason=str(payload.get("reason") or ""),
        created_at=parse_gmt(payload.get("date_created_gmt")),
        lines=tuple(lines),
    )

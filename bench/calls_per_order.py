"""Calls to the target per order, read from the e-conomic simulator's request log.

Two phases on one integration (one process, zero-latency simulators):

1. **new**: N orders, each from a customer and with products the ledger has never seen
   (e-mail addresses and SKUs made unique per order), into an empty e-conomic agreement.
2. **repeat**: the same N orders again under new order numbers (same customers, same
   products, all known by now), counted from a fresh mark in the request log.

The minimum is draft + book = 2 calls per order, plus 1 for each payment registered (the
``POST /journals/{id}/vouchers`` that succeeded). The breakdown shows every call by method and
path without ids (query: parameter names, and for ``filter`` the fields filtered on).
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import (
    Options,
    bench_run,
    call_breakdown,
    database_label,
    markdown_table,
    normalise_call,
    say,
)

PAYMENT_CALL = "POST /journals/{id}/vouchers"
DATE_FIELDS = ("date_created", "date_modified", "date_paid", "date_completed")


def unique_orders(n: int, seed: int, site_url: str) -> list[dict[str, Any]]:
    """``n`` eligible orders whose customers and products are all different from each other."""
    from kobling.connectors.woocommerce import sandbox_orders as so

    now = datetime.now(UTC)
    documents = so.generate(
        random.Random(seed),
        n,
        now - timedelta(seconds=60),
        now,
        {"processing": 0.85, "completed": 0.15},
        site_url=site_url,
    )
    for index, document in enumerate(documents, start=1):
        for part in ("billing", "shipping"):
            address = document.get(part) or {}
            if address.get("email"):
                address["email"] = f"n{index}.{address['email']}"
        if document.get("customer_id"):
            document["customer_id"] = 100_000 + index
        for item in document.get("line_items", []):
            item["sku"] = f"{item.get('sku') or 'SKU'}-{index}"
            item["product_id"] = int(item.get("product_id") or 0) * 100_000 + index
            if item.get("variation_id"):
                item["variation_id"] = int(item["variation_id"]) * 100_000 + index
    return documents


def as_new_order(document: dict[str, Any]) -> dict[str, Any]:
    """The order again, with no id (the shop assigns the next) and dated now."""
    from kobling.connectors.woocommerce import sandbox_orders as so

    again = copy.deepcopy(document)
    again["id"] = 0
    again["number"] = ""
    local, gmt = so.wc_dates(datetime.now(UTC))
    for name in DATE_FIELDS:
        if again.get(f"{name}_gmt") or name in ("date_created", "date_modified"):
            again[name], again[f"{name}_gmt"] = local, gmt
    again["refunds"] = []
    return again


def phase(run: Any, documents: list[dict[str, Any]], expected: int) -> list[tuple[str, str, int]]:
    sandboxes, recorder = run.sims.sets[0], run.sims.recorders[0]
    mark = recorder.mark()
    for document in documents:
        sandboxes.woo.add_order(as_new_order(document), deliver_webhooks=False)
    run.wait_booked(expected, timeout=120 + len(documents) * 3.0)
    return [(method, path, status) for _, method, path, status in recorder.after(mark)]


def measure(database_url: str | None, n: int) -> dict[str, Any]:
    with bench_run(database_url) as run:
        run.deploy()
        documents = unique_orders(n, seed=11, site_url=run.sims.sets[0].woo.site_url)
        say(f"calls per order: {n} orders, new customers and products")
        new = phase(run, documents, n)
        say(f"calls per order: {n} orders, known customers and products")
        repeat = phase(run, documents, 2 * n)
        run.wait_settled(2 * n)
        outcomes = run.outcomes()
    return {"new": new, "repeat": repeat, "outcomes": outcomes}


def summary_row(name: str, calls: list[tuple[str, str, int]], n: int) -> list[Any]:
    payments = sum(
        1 for m, p, s in calls if normalise_call(m, p) == PAYMENT_CALL and 200 <= s < 300
    )
    failed = sum(1 for _, _, s in calls if not 200 <= s < 300)
    minimum = (2 * n + payments) / n
    return [name, n, len(calls), round(len(calls) / n, 2), payments, round(minimum, 2), failed]


def main(options: Options) -> str:
    n = 20 if options.quick else 100
    parts = ["### Calls to the target per order (e-conomic simulator's request log)"]
    for url in options.databases:
        result = measure(url, n)
        new, repeat = result["new"], result["repeat"]
        summary = markdown_table(
            [
                "orders",
                "n",
                "calls",
                "calls/order",
                "payments registered",
                "minimum/order",
                "not 2xx",
            ],
            [
                summary_row("new customers and products", new, n),
                summary_row("repeat customers, known products", repeat, n),
            ],
            "lrrrrrr",
        )
        by_call: dict[str, list[Any]] = {}
        for column, calls in ((0, new), (1, repeat)):
            for key, count, failed, per_order in call_breakdown(calls, n):
                row = by_call.setdefault(key, [key, 0, 0.0, 0, 0.0, ""])
                row[1 + 2 * column] = count
                row[2 + 2 * column] = per_order
                if failed:
                    row[5] += f"{'new' if column == 0 else 'repeat'}: {failed} "
        breakdown = markdown_table(
            [
                "call",
                "new: calls",
                "new: per order",
                "repeat: calls",
                "repeat: per order",
                "of which not 2xx",
            ],
            sorted(by_call.values(), key=lambda r: (-r[3], -r[1], r[0])),
            "lrrrrl",
        )
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(result["outcomes"].items()))
        parts.append(
            f"{database_label(url)} ({'one process' if url is None else 'web + one worker'}); "
            f"outcomes of all {2 * n} transfers: "
            f"{outcomes}.\n\n{summary}\n\nBy call:\n\n{breakdown}"
        )
    parts.append(
        "Minimum: draft + book = 2 calls per order, + 1 per payment registered. The aim for "
        "repeat customers is at most 2.5 calls per order."
    )
    return "\n\n".join(parts)

"""Visma e-conomic (REST API): a target of invoices."""

from kobling.connectors.economic.check import check_connection
from kobling.connectors.economic.settings import EconomicCredentials, EconomicTargetSettings
from kobling.connectors.economic.target import EconomicTarget
from kobling.connectors.registry import ConnectorSpec, RateLimit, register

CONNECTOR = register(
    ConnectorSpec(
        kind="economic",
        title="e-conomic",
        capabilities=frozenset({"invoice_target"}),
        credentials_model=EconomicCredentials,
        settings_model=EconomicTargetSettings,
        build_target=EconomicTarget,
        check_connection=check_connection,
        # e-conomic publishes no per-second limit, only a fair-use budget of 50,000 calls per
        # agreement per day (fact sheet §11). A transfer costs about eight calls; 20 transfers
        # a second per agreement keeps bursts polite, and the client honours 429/Retry-After.
        transfer_rate_limit=RateLimit(limit=20, period=1.0),
        # Fair use: 50,000 calls per agreement per 24 h; above it e-conomic "may restrict the
        # integration without warning" (fact sheet §11).
        daily_call_budget=50_000,
    )
)

"""Tryton 8.2 (an open-source ERP with real double-entry accounting) as a target of invoices.

Tryton is GPL. Kobling never imports ``trytond`` or ``proteus``: Tryton runs from its own
virtualenv (``.venv-tryton``, ``make tryton-env``) as a separate server, and Kobling talks to it
over its REST API with an application key (``client.py``), and over JSON-RPC for the pay wizard
(``rpc.py``). ``target.py`` makes parties, products, invoices, credit notes and payments;
``local.py`` creates and serves a local sandbox database; ``setup_database.py`` is a data file
run by the Tryton virtualenv's python. Concepts and measurements: docs/tryton.md.
"""

from kobling.connectors.registry import ConnectorSpec, RateLimit, register
from kobling.connectors.tryton.check import check_connection
from kobling.connectors.tryton.settings import TrytonCredentials, TrytonTargetSettings
from kobling.connectors.tryton.target import TrytonTarget

CONNECTOR = register(
    ConnectorSpec(
        kind="tryton",
        title="Tryton",
        capabilities=frozenset({"invoice_target"}),
        credentials_model=TrytonCredentials,
        settings_model=TrytonTargetSettings,
        build_target=TrytonTarget,
        check_connection=check_connection,
        # Posting an invoice takes Tryton 0.3-1.3 s (strict sequences, the invoice document;
        # fact sheet), so a handful of transfers a second already keeps one server busy.
        transfer_rate_limit=RateLimit(limit=5, period=1.0),
    )
)

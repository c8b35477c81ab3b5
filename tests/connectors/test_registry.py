"""The registry knows every built-in connector, whichever module was imported first."""

from __future__ import annotations

import subprocess
import sys

from kobling.connectors import registry


def test_importing_one_connector_first_still_registers_all() -> None:
    # The demo imports Tryton's client before anything asks the registry; the registry must
    # still load the others (a fresh interpreter, since the test process has them already).
    code = (
        "import kobling.connectors.tryton.client\n"
        "from kobling.connectors import registry\n"
        "print(','.join(spec.kind for spec in registry.all_specs()))\n"
        "print(registry.get('woocommerce').title)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    kinds, title = done.stdout.strip().splitlines()
    assert kinds == "economic,tryton,woocommerce"
    assert title == "WooCommerce"


def test_every_connector_can_test_its_connection() -> None:
    for spec in registry.all_specs():
        assert callable(spec.check_connection), f"{spec.kind} has no check_connection"

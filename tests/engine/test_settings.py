from decimal import Decimal

import pytest

from kobling.engine.settings import (
    SettingsError,
    validate_connection_settings,
    validate_credentials,
)


def test_defaults_are_filled_in() -> None:
    settings = validate_connection_settings("woocommerce", "economic", {})
    assert settings["source"]["eligible_states"] == ["processing", "completed"]
    assert settings["target"]["invoice_mode"] == "book"
    assert settings["target"]["customer_match_field"] == "email"
    assert settings["target"]["shipping_product"] == "SHIPPING"
    assert Decimal(settings["rounding_tolerance"]) == Decimal("0.05")
    assert settings["use_webhooks"] is True


def test_bad_values_are_named_with_their_field() -> None:
    with pytest.raises(SettingsError) as caught:
        validate_connection_settings(
            "woocommerce",
            "economic",
            {
                "source": {"eligible_states": ["paid"]},
                "target": {"invoice_mode": "post", "layout": 0},
                "rounding_tolerance": "5",
            },
        )
    message = str(caught.value)
    for field in (
        "source.eligible_states",
        "target.invoice_mode",
        "target.layout",
        "rounding_tolerance",
    ):
        assert field in message


def test_credential_errors_never_echo_a_secret() -> None:
    with pytest.raises(SettingsError) as caught:
        validate_credentials("economic", {"app_secret_token": "s3cr3t-value"})
    assert "agreement_grant_token" in str(caught.value)
    assert "s3cr3t-value" not in str(caught.value)

"""WooCommerce (REST API v3): a source of orders, with signed webhooks."""

from kobling.connectors.registry import ConnectorSpec, register
from kobling.connectors.woocommerce.check import check_connection
from kobling.connectors.woocommerce.settings import (
    WooCommerceCredentials,
    WooCommerceSourceSettings,
)
from kobling.connectors.woocommerce.source import WooCommerceSource
from kobling.connectors.woocommerce.webhooks import (
    WooCommerceWebhookRegistrar,
    WooCommerceWebhooks,
)

CONNECTOR = register(
    ConnectorSpec(
        kind="woocommerce",
        title="WooCommerce",
        capabilities=frozenset({"order_source", "webhooks"}),
        credentials_model=WooCommerceCredentials,
        settings_model=WooCommerceSourceSettings,
        build_source=WooCommerceSource,
        build_webhooks=WooCommerceWebhooks,
        build_registrar=WooCommerceWebhookRegistrar,
        check_connection=check_connection,
        offline_source=lambda settings: WooCommerceSource(
            "http://offline.invalid/", {"consumer_key": "", "consumer_secret": ""}, settings
        ),
    )
)

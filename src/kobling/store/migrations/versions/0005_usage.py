"""usage records and the plan's policy past its orders

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("over_limit", sa.String(length=20), nullable=False, server_default="continue"),
    )
    op.create_table(
        "usage_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("transfer_key", sa.String(length=300), nullable=False, unique=True),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_usage_records_account_month", "usage_records", ["account_id", "month"])
    # Orders transferred before this version count in the month they were first done.
    op.execute(
        """
        INSERT INTO usage_records (account_id, transfer_key, month, origin, counted_at)
        SELECT i.account_id, t.key, substr(CAST(t.created_at AS TEXT), 1, 7), 'live', t.created_at
        FROM transfers t
        JOIN connections c ON c.id = t.connection_id
        JOIN integrations i ON i.id = c.integration_id
        WHERE t.outcome = 'done' AND t.object_type = 'order' AND t.purpose = 'invoice'
        """
    )


def downgrade() -> None:
    op.drop_index("ix_usage_records_account_month", "usage_records")
    op.drop_table("usage_records")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("over_limit")

"""system checks, webhook checks, and the account's plan

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("orders_per_month", sa.Integer(), nullable=True))
    op.create_table(
        "system_checks",
        sa.Column("system_id", sa.Integer(), sa.ForeignKey("systems.id"), primary_key=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "webhook_checks",
        sa.Column("connection_id", sa.Integer(), sa.ForeignKey("connections.id"), primary_key=True),
        sa.Column("hooks", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_detail", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_checks")
    op.drop_table("system_checks")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("orders_per_month")

"""notification preferences, alerts, and the problem code of a held or failed transfer

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "transfers",
        sa.Column("problem_code", sa.String(length=40), nullable=False, server_default=""),
    )
    op.create_table(
        "notification_prefs",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("errors", sa.String(length=20), nullable=False),
        sa.Column("reports", sa.String(length=20), nullable=False),
        sa.Column("errors_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report_sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_alerts_account_id", "alerts", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_account_id", "alerts")
    op.drop_table("alerts")
    op.drop_table("notification_prefs")
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("problem_code")

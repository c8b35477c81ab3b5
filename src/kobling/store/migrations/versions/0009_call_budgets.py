"""call budgets

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_budgets",
        sa.Column(
            "system_id",
            sa.Integer(),
            sa.ForeignKey("systems.id"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("next_slot_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("call_budgets")

"""write attempts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "write_attempts",
        sa.Column("transfer_key", sa.String(length=300), primary_key=True),
        sa.Column("action", sa.String(length=40), primary_key=True),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("write_attempts")

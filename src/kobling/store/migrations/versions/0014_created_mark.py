"""the store's creation mark

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22

Orders created before the store existed may have been transferred by another installation
(or by this one before its data was lost): they are looked up in the target before anything
is created for them (store/write_attempts.py).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    marks = sa.table(
        "marks", sa.column("name", sa.String()), sa.column("at", sa.DateTime(timezone=True))
    )
    op.bulk_insert(marks, [{"name": "created", "at": datetime.now(UTC)}])


def downgrade() -> None:
    op.execute("DELETE FROM marks WHERE name = 'created'")

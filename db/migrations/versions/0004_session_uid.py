"""Each session's journal id, so a worker's journal replayed after a crash or an outage finds its session instead
of creating a second one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 22:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("class_session") as batch:
        batch.add_column(sa.Column("uid", sa.String(length=32), nullable=True))
        batch.create_unique_constraint(batch.f("uq_class_session_uid"), ["uid"])


def downgrade() -> None:
    with op.batch_alter_table("class_session") as batch:
        batch.drop_constraint(batch.f("uq_class_session_uid"), type_="unique")
        batch.drop_column("uid")

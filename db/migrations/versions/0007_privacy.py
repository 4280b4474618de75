"""Responsible use: each session's analysis mode (expressions or presence) and whether per-student rows are kept;
class-level students present; per-student visible frames and share; emotion counts may be NULL (presence mode
measures none).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 22:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # frozen copy: migrations never move


def upgrade() -> None:
    with op.batch_alter_table("class_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mode", sa.String(length=20), server_default="expressions", nullable=False))
        batch_op.add_column(sa.Column("per_student", sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("interval", schema=None) as batch_op:
        batch_op.add_column(sa.Column("students_present", sa.Integer(), nullable=True))
        for e in EMOTIONS:
            batch_op.alter_column(f"n_{e}", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("student_presence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frames_visible", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("visible_share", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("student_presence", schema=None) as batch_op:
        batch_op.drop_column("visible_share")
        batch_op.drop_column("frames_visible")
    op.execute(sa.text("DELETE FROM student_presence WHERE state = 'seen'"))
    for e in EMOTIONS:
        op.execute(sa.text(f'UPDATE "interval" SET n_{e} = 0 WHERE n_{e} IS NULL'))
    with op.batch_alter_table("interval", schema=None) as batch_op:
        for e in EMOTIONS:
            batch_op.alter_column(f"n_{e}", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("students_present")
    with op.batch_alter_table("class_session", schema=None) as batch_op:
        batch_op.drop_column("per_student")
        batch_op.drop_column("mode")

"""Indexes for a whole school on one database: each classroom's latest session, and a session's open flags; and
no index on ``interval_id`` alone where the unique ``(interval_id, student)`` index already serves it (a school
writes 14,400 student rows per classroom-hour: every index on them costs space and write time).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 22:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_class_session_classroom_started_at", "class_session", ["classroom", "started_at"])
    op.create_index("ix_flag_session_id_end", "flag", ["session_id", "end"])
    op.drop_index("ix_student_interval_interval_id", table_name="student_interval")
    op.drop_index("ix_student_presence_interval_id", table_name="student_presence")


def downgrade() -> None:
    op.create_index("ix_student_presence_interval_id", "student_presence", ["interval_id"])
    op.create_index("ix_student_interval_interval_id", "student_interval", ["interval_id"])
    op.drop_index("ix_flag_session_id_end", table_name="flag")
    op.drop_index("ix_class_session_classroom_started_at", table_name="class_session")

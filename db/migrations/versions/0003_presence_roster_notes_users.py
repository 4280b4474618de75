"""Per-student presence (camera off, face not visible), session rosters, teacher notes, dashboard accounts,
and each session's teacher, classroom and expected class size.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 13:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("name", name=op.f("uq_app_user_name")),
    )
    op.create_table(
        "note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["class_session.id"], name=op.f("fk_note_session_id_class_session"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note")),
    )
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_session_id"), ["session_id"], unique=False)

    op.create_table(
        "roster_student",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("student", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_session.id"],
            name=op.f("fk_roster_student_session_id_class_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_student")),
        sa.UniqueConstraint("session_id", "student", name=op.f("uq_roster_student_session_id")),
    )
    with op.batch_alter_table("roster_student", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_student_session_id"), ["session_id"], unique=False)

    op.create_table(
        "student_presence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interval_id", sa.Integer(), nullable=False),
        sa.Column("student", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("frames_camera_off", sa.Integer(), nullable=False),
        sa.Column("frames_face_not_visible", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interval_id"], ["interval.id"], name=op.f("fk_student_presence_interval_id_interval"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_student_presence")),
        sa.UniqueConstraint("interval_id", "student", name=op.f("uq_student_presence_interval_id")),
    )
    with op.batch_alter_table("student_presence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_student_presence_interval_id"), ["interval_id"], unique=False)

    with op.batch_alter_table("class_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("teacher", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("classroom", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("expected_students", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_class_session_classroom"), ["classroom"], unique=False)
        batch_op.create_index(batch_op.f("ix_class_session_teacher"), ["teacher"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("class_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_class_session_teacher"))
        batch_op.drop_index(batch_op.f("ix_class_session_classroom"))
        batch_op.drop_column("expected_students")
        batch_op.drop_column("classroom")
        batch_op.drop_column("teacher")

    with op.batch_alter_table("student_presence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_student_presence_interval_id"))

    op.drop_table("student_presence")
    with op.batch_alter_table("roster_student", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_student_session_id"))

    op.drop_table("roster_student")
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_session_id"))

    op.drop_table("note")
    op.drop_table("app_user")

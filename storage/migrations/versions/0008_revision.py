"""revising live courses, the roster's keyset index and erased users

Modules and lessons of a live course are removed by marking them (`deleted_at`), so the
completions and quiz attempts of a removed lesson stay (they stop counting); `courses.
structure_version` counts the revisions of a course's structure. `users.deleted_at` marks an
erased account. `(course_id, id)` on enrollments lets the gradebook read a course in keyset
pages.

Revision ID: 0008_revision
Revises: 0005
Create Date: 2026-12-01 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_revision"
down_revision: str | None = "0006_waitlist"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "courses",
        sa.Column("structure_version", sa.Integer(), server_default="1", nullable=False),
    )
    for table in ("modules", "lessons", "users"):
        op.add_column(table, sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_enrollments_course_id_id", "enrollments", ["course_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_enrollments_course_id_id", table_name="enrollments")
    for table in ("users", "lessons", "modules"):
        op.drop_column(table, "deleted_at")
    op.drop_column("courses", "structure_version")

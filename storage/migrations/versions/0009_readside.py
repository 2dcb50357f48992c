"""read side: notification preferences, the analytics consumer's new counters and active
learners, and course reports

Revision ID: 0009_readside
Revises: 0008_revision
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_readside"
down_revision: str | None = "0008_revision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = (
    "new_students",
    "new_instructors",
    "courses_published",
    "courses_archived",
    "lessons_completed",
)


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "channel", "kind", name=op.f("pk_notification_preferences")
        ),
    )
    # Columns added to the partitioned parent reach every partition.
    for name in COUNTERS:
        op.add_column(
            "analytics_metrics",
            sa.Column(name, sa.Integer(), server_default="0", nullable=False),
        )
    op.add_column(
        "analytics_metrics",
        sa.Column("completion_seconds", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.create_table(
        "analytics_active_learners",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("student_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "course_id", "student_id", name=op.f("pk_analytics_active_learners")
        ),
    )
    op.create_table(
        "course_reports",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("requested_by", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("csv_key", sa.String(length=200), nullable=True),
        sa.Column("pdf_key", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('QUEUED', 'RUNNING', 'DONE', 'FAILED')",
            name=op.f("ck_course_reports_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_reports")),
    )
    op.create_index("ix_course_reports_course_id", "course_reports", ["course_id"])


def downgrade() -> None:
    op.drop_index("ix_course_reports_course_id", table_name="course_reports")
    op.drop_table("course_reports")
    op.drop_table("analytics_active_learners")
    op.drop_column("analytics_metrics", "completion_seconds")
    for name in reversed(COUNTERS):
        op.drop_column("analytics_metrics", name)
    op.drop_table("notification_preferences")

"""waitlist: courses may queue students when full (enrollment status `waitlisted`)

Revision ID: 0006_waitlist
Revises: 0005
Create Date: 2026-12-01 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_waitlist"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'pending', 'active', 'completed', 'dropped'"


def upgrade() -> None:
    op.add_column(
        "courses",
        sa.Column("waitlist", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.drop_constraint(op.f("ck_enrollments_status"), "enrollments", type_="check")
    op.create_check_constraint(
        op.f("ck_enrollments_status"), "enrollments", f"status IN ('waitlisted', {STATUSES})"
    )


def downgrade() -> None:
    # Waitlisted rows have no status to go back to: they leave the queue.
    op.execute("UPDATE enrollments SET status = 'dropped' WHERE status = 'waitlisted'")
    op.drop_constraint(op.f("ck_enrollments_status"), "enrollments", type_="check")
    op.create_check_constraint(
        op.f("ck_enrollments_status"), "enrollments", f"status IN ({STATUSES})"
    )
    op.drop_column("courses", "waitlist")

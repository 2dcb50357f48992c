"""events: processed-event ids per consumer group, monthly-partitioned analytics counters, and
a NOTIFY on outbox inserts that wakes the relay

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("consumer_group", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("consumer_group", "event_id", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "analytics_metrics",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("new_enrollments", sa.Integer(), server_default="0", nullable=False),
        sa.Column("completions", sa.Integer(), server_default="0", nullable=False),
        sa.Column("drops", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "course_id", name=op.f("pk_analytics_metrics")),
        postgresql_partition_by="RANGE (day)",
    )
    # Monthly partitions are created by the analytics consumer as months arrive; the default
    # partition keeps any row whose month does not have one yet.
    op.execute("CREATE TABLE analytics_metrics_default PARTITION OF analytics_metrics DEFAULT")
    op.execute(
        """
        CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('outbox', ''); RETURN NULL; END $$
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_notify ON outbox")
    op.execute("DROP FUNCTION notify_outbox()")
    op.drop_table("analytics_metrics")
    op.drop_table("processed_events")

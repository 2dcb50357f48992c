"""certificates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 22:57:26.388202
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "certificates",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("enrollment_id", sa.BigInteger(), nullable=False),
        sa.Column("student_id", sa.BigInteger(), nullable=False),
        sa.Column("course_id", sa.BigInteger(), nullable=False),
        sa.Column("verification_code", sa.String(length=64), nullable=False),
        sa.Column("student_name", sa.String(length=200), nullable=False),
        sa.Column("course_title", sa.String(length=300), nullable=False),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("pdf_object_key", sa.String(length=300), nullable=True),
        sa.Column("pdf_rendered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_certificates_course_id_courses"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_certificates_enrollment_id_enrollments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_certificates_student_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_certificates_enrollment_id")),
        sa.UniqueConstraint("verification_code", name=op.f("uq_certificates_verification_code")),
    )
    op.create_index(op.f("ix_certificates_course_id"), "certificates", ["course_id"], unique=False)
    op.create_index(
        op.f("ix_certificates_student_id"), "certificates", ["student_id"], unique=False
    )


def downgrade() -> None:

    op.drop_index(op.f("ix_certificates_student_id"), table_name="certificates")
    op.drop_index(op.f("ix_certificates_course_id"), table_name="certificates")
    op.drop_table("certificates")

"""upward filing packages

Revision ID: d1b0b0000002
Revises: d1a0a0000001
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d1b0b0000002"
down_revision: str | None = "d1a0a0000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "filing_packages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("package_id", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("case_no", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("sender_name", sa.Text(), nullable=False),
        sa.Column("sender_level", sa.Text(), nullable=False),
        sa.Column("receiver_level", sa.Text(), nullable=False),
        sa.Column("receiver_name", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("manifest", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("archive", sa.LargeBinary(), nullable=False),
        sa.Column("archive_sha256", sa.Text(), nullable=False),
        sa.Column("sender_verdict", sa.Text(), nullable=True),
        sa.Column("sender_approval_level", sa.Text(), nullable=True),
        sa.Column("check_run_id", sa.BigInteger(), nullable=True),
        sa.Column("agrees", sa.Boolean(), nullable=True),
        sa.Column(
            "disagreements",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(geometry_type="MULTIPOLYGON", srid=4490, spatial_index=False),
            nullable=True,
        ),
        sa.Column("receipt", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("receipt_seq", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("direction IN ('sent', 'received')", name=op.f("ck_filing_packages_direction")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_filing_packages_case_id_cases"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["check_run_id"], ["check_runs.id"], name=op.f("fk_filing_packages_check_run_id_check_runs")
        ),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_filing_packages_decided_by_users")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_filing_packages_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filing_packages")),
        sa.UniqueConstraint("direction", "package_id", name="uq_filing_packages_direction_package_id"),
    )
    op.create_index(op.f("ix_filing_packages_case_id"), "filing_packages", ["case_id"], unique=False)
    op.create_index("idx_filing_packages_geom", "filing_packages", ["geom"], unique=False, postgresql_using="gist")


def downgrade() -> None:
    op.drop_index("idx_filing_packages_geom", table_name="filing_packages", postgresql_using="gist")
    op.drop_index(op.f("ix_filing_packages_case_id"), table_name="filing_packages")
    op.drop_table("filing_packages")

"""profile: filing packages know who signed each layer and which received package a forwarded one wraps

Revision ID: e2f0a0000017
Revises: d1c0c0000003
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e2f0a0000017"
down_revision: str | None = "d1c0c0000003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "filing_packages",
        sa.Column("layers", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
    )
    op.add_column(
        "filing_packages",
        sa.Column("forwarded_from", sa.BigInteger(), sa.ForeignKey("filing_packages.id"), nullable=True),
    )
    op.create_index("ix_filing_packages_forwarded_from", "filing_packages", ["forwarded_from"])


def downgrade() -> None:
    op.drop_index("ix_filing_packages_forwarded_from", table_name="filing_packages")
    op.drop_column("filing_packages", "forwarded_from")
    op.drop_column("filing_packages", "layers")

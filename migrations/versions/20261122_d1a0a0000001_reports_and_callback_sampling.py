"""reports and callback sampling

Revision ID: d1a0a0000001
Revises: c26eab248863
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d1a0a0000001"
down_revision: str | None = "c26eab248863"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_draws",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("month", sa.Text(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("drawn_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["drawn_by"], ["users.id"], name=op.f("fk_callback_draws_drawn_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_draws")),
        sa.UniqueConstraint("month", name=op.f("uq_callback_draws_month")),
    )
    op.create_table(
        "callback_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("draw_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("called_by", sa.BigInteger(), nullable=True),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["called_by"], ["users.id"], name=op.f("fk_callback_entries_called_by_users")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_callback_entries_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["draw_id"],
            ["callback_draws.id"],
            name=op.f("fk_callback_entries_draw_id_callback_draws"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_entries")),
        sa.UniqueConstraint("draw_id", "case_id", name="uq_callback_entries_draw_case"),
        sa.UniqueConstraint("draw_id", "position", name="uq_callback_entries_draw_position"),
    )
    op.create_index(op.f("ix_callback_entries_case_id"), "callback_entries", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_callback_entries_case_id"), table_name="callback_entries")
    op.drop_table("callback_entries")
    op.drop_table("callback_draws")

"""hardening: idempotency, rate limits

Revision ID: d1c0c0000003
Revises: d1b0b0000002
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

import geoalchemy2  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "d1c0c0000003"
down_revision: str | None = "d1b0b0000002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

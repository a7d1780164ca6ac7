"""reports and callback sampling

Revision ID: d1a0a0000001
Revises: c26eab248863
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

import geoalchemy2  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "d1a0a0000001"
down_revision: str | None = "c26eab248863"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

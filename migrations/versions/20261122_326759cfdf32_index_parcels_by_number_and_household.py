"""index parcels by number and household

Revision ID: 326759cfdf32
Revises: 602b6e1735c2
Create Date: 2026-11-22 12:03:39.044851
"""

from collections.abc import Sequence

import geoalchemy2  # noqa: F401
from alembic import op

revision: str = "326759cfdf32"
down_revision: str | None = "602b6e1735c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_parcels_household_id"), "parcels", ["household_id"], unique=False)
    op.create_index(op.f("ix_parcels_parcel_no"), "parcels", ["parcel_no"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_parcels_parcel_no"), table_name="parcels")
    op.drop_index(op.f("ix_parcels_household_id"), table_name="parcels")

"""county quotas: the construction-land quotas and the offset projects belong to a county

In an instance of many counties two townships may share a name and each county balances its own conversions
against its own offset projects (占补平衡 is a county's account), so both tables get the county (GB/T 2260 code) in
their primary key. Rows already loaded belong to the instance's county (its profile's admin code).

Revision ID: f6a0c0000020
Revises: e4c0c0000019
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6a0c0000020"
down_revision: str | None = "e4c0c0000019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _county() -> str:
    from service.core.settings import get_settings

    return get_settings().profile.admin_code


def upgrade() -> None:
    county = _county()
    for table, key in (("land_quotas", ["county", "year", "township"]), ("offset_projects", ["county", "project_no"])):
        op.add_column(table, sa.Column("county", sa.Text(), nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET county = :county").bindparams(county=county))
        op.alter_column(table, "county", nullable=False)
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, key)


def downgrade() -> None:
    for table, key in (("land_quotas", ["year", "township"]), ("offset_projects", ["project_no"])):
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.execute(
            f"DELETE FROM {table} t USING {table} u WHERE t.ctid > u.ctid AND "
            + " AND ".join(f"t.{c} = u.{c}" for c in key)
        )
        op.create_primary_key(f"pk_{table}", table, key)
        op.drop_column(table, "county")

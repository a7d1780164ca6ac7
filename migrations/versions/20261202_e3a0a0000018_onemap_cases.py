"""onemap-cases: cases as layers of the one map, site visits, mining-right history, quota ledgers

Revision ID: e3a0a0000018
Revises: e2f0a0000017
Create Date: 2026-12-01 09:00:00

The layers cases_pending and cases_approved are views over the cases table (gis/data/layers.toml [case_layers]):
a case is on them by cases.on_map, which the service sets from the states' `map` in workflow.toml. A deferred
constraint trigger bumps their version and feature count in layer_versions at the commit of every change of a
case's membership or boundary: the last lock a transaction takes, so it cannot close a cycle with the case rows it
holds, and raw SQL changes count too.
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e3a0a0000018"
down_revision: str | None = "e2f0a0000017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the states of workflow.toml as this revision found them (the service keeps on_map from then on)
OPEN_STATES = (
    "received",
    "awaiting_supplement",
    "in_review",
    "pre_announcement",
    "compensation_announcement",
    "leader_approval",
    "submitted_higher",
)
APPROVED_STATES = ("approved", "certified")
COMMON = "id, case_no, kind, status, received_at, {extra}township, village, area_m2, depth_top, depth_bottom, household_id, geom"


def upgrade() -> None:
    op.add_column("cases", sa.Column("on_map", sa.Text(), server_default=sa.text("'pending'"), nullable=True))
    op.create_check_constraint(op.f("ck_cases_on_map"), "cases", "on_map IN ('pending', 'approved')")
    op.create_index(op.f("ix_cases_household_id"), "cases", ["household_id"], unique=False)
    op.execute(
        sa.text(
            """
            UPDATE cases c SET on_map = CASE
                WHEN c.status = ANY(:open) THEN 'pending'
                WHEN c.status = ANY(:approved) THEN 'approved'
                WHEN c.status = 'archived' AND EXISTS (
                    SELECT 1 FROM audit_log a WHERE a.case_id = c.id AND a.action = 'transition.approve') THEN 'approved'
                ELSE NULL END
            """
        ).bindparams(
            sa.bindparam("open", list(OPEN_STATES), type_=postgresql.ARRAY(sa.Text())),
            sa.bindparam("approved", list(APPROVED_STATES), type_=postgresql.ARRAY(sa.Text())),
        )
    )
    op.execute(
        f"CREATE VIEW cases_pending AS SELECT {COMMON.format(extra='')} FROM cases "
        "WHERE on_map = 'pending' AND geom IS NOT NULL"
    )
    op.execute(
        f"CREATE VIEW cases_approved AS SELECT {COMMON.format(extra='decided_at, ')} FROM cases "
        "WHERE on_map = 'approved' AND geom IS NOT NULL"
    )
    op.execute(
        """
        INSERT INTO layer_versions (layer, version, feature_count, source)
        SELECT 'cases_pending', 1, (SELECT count(*) FROM cases_pending), 'cases'
        UNION ALL SELECT 'cases_approved', 1, (SELECT count(*) FROM cases_approved), 'cases'
        ON CONFLICT (layer) DO NOTHING
        """
    )
    op.execute(
        """
        CREATE FUNCTION case_layers_touched() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            was text;
            now_on text;
            moved boolean := false;
        BEGIN
            IF TG_OP <> 'INSERT' AND OLD.geom IS NOT NULL THEN was := OLD.on_map; END IF;
            IF TG_OP <> 'DELETE' AND NEW.geom IS NOT NULL THEN now_on := NEW.on_map; END IF;
            IF TG_OP = 'UPDATE' THEN moved := OLD.geom IS DISTINCT FROM NEW.geom; END IF;
            IF was IS NOT DISTINCT FROM now_on AND NOT moved THEN RETURN NULL; END IF;
            -- both rows, always in the same order: two commits never wait on each other crosswise
            PERFORM 1 FROM layer_versions WHERE layer IN ('cases_approved', 'cases_pending') ORDER BY layer FOR UPDATE;
            UPDATE layer_versions v
               SET version = v.version + 1,
                   feature_count = v.feature_count + (CASE WHEN now_on = m.map THEN 1 ELSE 0 END)
                                                   - (CASE WHEN was = m.map THEN 1 ELSE 0 END),
                   loaded_at = clock_timestamp(), source = 'cases'
              FROM (VALUES ('cases_approved', 'approved'), ('cases_pending', 'pending')) AS m(layer, map)
             WHERE v.layer = m.layer AND (was = m.map OR now_on = m.map);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER case_layers_touched AFTER INSERT OR UPDATE OF on_map, geom OR DELETE ON cases
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION case_layers_touched()
        """
    )

    op.create_table(
        "site_visits",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.Text(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("inspector", sa.Text(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column(
            "as_built",
            geoalchemy2.types.Geometry(geometry_type="MULTIPOLYGON", srid=4490, spatial_index=False),
            nullable=True,
        ),
        sa.Column(
            "comparison", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_site_visits_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_site_visits_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_visits")),
    )
    op.create_index(op.f("ix_site_visits_case_id"), "site_visits", ["case_id"], unique=False)
    op.create_table(
        "visit_photos",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("visit_id", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("media_type", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["site_visits.id"], name=op.f("fk_visit_photos_visit_id_site_visits"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_photos")),
    )
    op.create_index(op.f("ix_visit_photos_visit_id"), "visit_photos", ["visit_id"], unique=False)
    op.create_table(
        "mining_right_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("licence_no", sa.Text(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_mining_right_events_case_id_cases"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mining_right_events")),
    )
    op.create_index(op.f("ix_mining_right_events_licence_no"), "mining_right_events", ["licence_no"], unique=False)
    op.create_index(op.f("ix_mining_right_events_case_id"), "mining_right_events", ["case_id"], unique=False)
    op.create_table(
        "land_quotas",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("township", sa.Text(), nullable=False),
        sa.Column("quota_m2", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("quota_m2 >= 0", name=op.f("ck_land_quotas_quota_m2")),
        sa.PrimaryKeyConstraint("year", "township", name=op.f("pk_land_quotas")),
    )
    op.create_table(
        "offset_projects",
        sa.Column("project_no", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("township", sa.Text(), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("accepted_on", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("area_m2 > 0", name=op.f("ck_offset_projects_area_m2")),
        sa.PrimaryKeyConstraint("project_no", name=op.f("pk_offset_projects")),
    )


def downgrade() -> None:
    op.drop_table("offset_projects")
    op.drop_table("land_quotas")
    op.drop_index(op.f("ix_mining_right_events_case_id"), table_name="mining_right_events")
    op.drop_index(op.f("ix_mining_right_events_licence_no"), table_name="mining_right_events")
    op.drop_table("mining_right_events")
    op.drop_index(op.f("ix_visit_photos_visit_id"), table_name="visit_photos")
    op.drop_table("visit_photos")
    op.drop_index(op.f("ix_site_visits_case_id"), table_name="site_visits")
    op.drop_table("site_visits")
    op.execute("DROP TRIGGER case_layers_touched ON cases")
    op.execute("DROP FUNCTION case_layers_touched()")
    op.execute("DROP VIEW cases_approved")
    op.execute("DROP VIEW cases_pending")
    op.execute("DELETE FROM layer_versions WHERE layer IN ('cases_pending', 'cases_approved')")
    op.drop_index(op.f("ix_cases_household_id"), table_name="cases")
    op.drop_constraint(op.f("ck_cases_on_map"), "cases", type_="check")
    op.drop_column("cases", "on_map")

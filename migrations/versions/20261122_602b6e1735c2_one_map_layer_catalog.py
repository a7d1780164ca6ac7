"""one-map layer catalog

Revision ID: 602b6e1735c2
Revises:
Create Date: 2026-11-22 11:54:06.102196
"""

from collections.abc import Sequence

import geoalchemy2  # noqa: F401
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "602b6e1735c2"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PostGIS must exist before any geometry column; on a managed server an administrator may have created it.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table(
        "basic_farmland",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("src_fid", sa.Text(), nullable=True, comment="feature id in the source file"),
        sa.Column("patch_no", sa.Text(), nullable=True),
        sa.Column("township", sa.Text(), nullable=True),
        sa.Column(
            "props", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_basic_farmland")),
    )
    op.create_geospatial_index(
        "idx_basic_farmland_geom", "basic_farmland", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_geospatial_table(
        "basic_farmland_sub",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feature_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_basic_farmland_sub")),
    )
    op.create_geospatial_index(
        "idx_basic_farmland_sub_geom",
        "basic_farmland_sub",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_basic_farmland_sub_feature_id"), "basic_farmland_sub", ["feature_id"], unique=False)
    op.create_geospatial_table(
        "eco_redline",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("src_fid", sa.Text(), nullable=True, comment="feature id in the source file"),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column(
            "props", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eco_redline")),
    )
    op.create_geospatial_index(
        "idx_eco_redline_geom", "eco_redline", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_geospatial_table(
        "eco_redline_sub",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feature_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eco_redline_sub")),
    )
    op.create_geospatial_index(
        "idx_eco_redline_sub_geom",
        "eco_redline_sub",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_eco_redline_sub_feature_id"), "eco_redline_sub", ["feature_id"], unique=False)
    op.create_geospatial_table(
        "land_price_zones",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("src_fid", sa.Text(), nullable=True, comment="feature id in the source file"),
        sa.Column("zone_no", sa.Text(), nullable=True),
        sa.Column("price_per_mu", sa.Float(), nullable=True),
        sa.Column("land_share", sa.Float(), nullable=True),
        sa.Column("resettlement_share", sa.Float(), nullable=True),
        sa.Column(
            "props", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_land_price_zones")),
    )
    op.create_geospatial_index(
        "idx_land_price_zones_geom",
        "land_price_zones",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "land_price_zones_sub",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feature_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_land_price_zones_sub")),
    )
    op.create_geospatial_index(
        "idx_land_price_zones_sub_geom",
        "land_price_zones_sub",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_land_price_zones_sub_feature_id"), "land_price_zones_sub", ["feature_id"], unique=False)
    op.create_geospatial_table(
        "landuse",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("src_fid", sa.Text(), nullable=True, comment="feature id in the source file"),
        sa.Column("dlbm", sa.Text(), nullable=True),
        sa.Column("patch_no", sa.Text(), nullable=True),
        sa.Column("township", sa.Text(), nullable=True),
        sa.Column("village", sa.Text(), nullable=True),
        sa.Column(
            "props", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_landuse")),
    )
    op.create_geospatial_index(
        "idx_landuse_geom", "landuse", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_table(
        "layer_loads",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("feature_count", sa.BigInteger(), nullable=False),
        sa.Column("repaired", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rejected", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("replaced", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layer_loads")),
    )
    op.create_index(op.f("ix_layer_loads_layer"), "layer_loads", ["layer"], unique=False)
    op.create_table(
        "layer_versions",
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("feature_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("layer", name=op.f("pk_layer_versions")),
    )
    op.create_geospatial_table(
        "mining_rights",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("src_fid", sa.Text(), nullable=True, comment="feature id in the source file"),
        sa.Column("licence_no", sa.Text(), nullable=True),
        sa.Column("holder", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("mineral", sa.Text(), nullable=True),
        sa.Column("depth_top", sa.Float(), nullable=True),
        sa.Column("depth_bottom", sa.Float(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column(
            "props", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mining_rights")),
    )
    op.create_geospatial_index(
        "idx_mining_rights_geom", "mining_rights", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_geospatial_table(
        "parcels",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("src_fid", sa.Text(), nullable=True, comment="feature id in the source file"),
        sa.Column("parcel_no", sa.Text(), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("owner_kind", sa.Text(), nullable=True),
        sa.Column("household_id", sa.Text(), nullable=True),
        sa.Column("right_type", sa.Text(), nullable=True),
        sa.Column("land_class", sa.Text(), nullable=True),
        sa.Column("village", sa.Text(), nullable=True),
        sa.Column("township", sa.Text(), nullable=True),
        sa.Column(
            "props", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcels")),
    )
    op.create_geospatial_index(
        "idx_parcels_geom", "parcels", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_geospatial_table(
        "townships",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("src_fid", sa.Text(), nullable=True, comment="feature id in the source file"),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column(
            "props", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_townships")),
    )
    op.create_geospatial_index(
        "idx_townships_geom", "townships", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_geospatial_table(
        "townships_sub",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feature_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_townships_sub")),
    )
    op.create_geospatial_index(
        "idx_townships_sub_geom", "townships_sub", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_townships_sub_feature_id"), "townships_sub", ["feature_id"], unique=False)
    op.create_geospatial_table(
        "urban_boundary",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("src_fid", sa.Text(), nullable=True, comment="feature id in the source file"),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column(
            "props", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_urban_boundary")),
    )
    op.create_geospatial_index(
        "idx_urban_boundary_geom", "urban_boundary", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_geospatial_table(
        "urban_boundary_sub",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feature_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_urban_boundary_sub")),
    )
    op.create_geospatial_index(
        "idx_urban_boundary_sub_geom",
        "urban_boundary_sub",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_urban_boundary_sub_feature_id"), "urban_boundary_sub", ["feature_id"], unique=False)
    op.create_geospatial_table(
        "village_boundary",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("src_fid", sa.Text(), nullable=True, comment="feature id in the source file"),
        sa.Column("village", sa.Text(), nullable=True),
        sa.Column("township", sa.Text(), nullable=True),
        sa.Column(
            "props", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_village_boundary")),
    )
    op.create_geospatial_index(
        "idx_village_boundary_geom",
        "village_boundary",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "village_boundary_sub",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feature_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_village_boundary_sub")),
    )
    op.create_geospatial_index(
        "idx_village_boundary_sub_geom",
        "village_boundary_sub",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_village_boundary_sub_feature_id"), "village_boundary_sub", ["feature_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_village_boundary_sub_feature_id"), table_name="village_boundary_sub")
    op.drop_geospatial_index(
        "idx_village_boundary_sub_geom", table_name="village_boundary_sub", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("village_boundary_sub")
    op.drop_geospatial_index(
        "idx_village_boundary_geom", table_name="village_boundary", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("village_boundary")
    op.drop_index(op.f("ix_urban_boundary_sub_feature_id"), table_name="urban_boundary_sub")
    op.drop_geospatial_index(
        "idx_urban_boundary_sub_geom", table_name="urban_boundary_sub", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("urban_boundary_sub")
    op.drop_geospatial_index(
        "idx_urban_boundary_geom", table_name="urban_boundary", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("urban_boundary")
    op.drop_index(op.f("ix_townships_sub_feature_id"), table_name="townships_sub")
    op.drop_geospatial_index(
        "idx_townships_sub_geom", table_name="townships_sub", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("townships_sub")
    op.drop_geospatial_index("idx_townships_geom", table_name="townships", postgresql_using="gist", column_name="geom")
    op.drop_geospatial_table("townships")
    op.drop_geospatial_index("idx_parcels_geom", table_name="parcels", postgresql_using="gist", column_name="geom")
    op.drop_geospatial_table("parcels")
    op.drop_geospatial_index(
        "idx_mining_rights_geom", table_name="mining_rights", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("mining_rights")
    op.drop_table("layer_versions")
    op.drop_index(op.f("ix_layer_loads_layer"), table_name="layer_loads")
    op.drop_table("layer_loads")
    op.drop_geospatial_index("idx_landuse_geom", table_name="landuse", postgresql_using="gist", column_name="geom")
    op.drop_geospatial_table("landuse")
    op.drop_index(op.f("ix_land_price_zones_sub_feature_id"), table_name="land_price_zones_sub")
    op.drop_geospatial_index(
        "idx_land_price_zones_sub_geom", table_name="land_price_zones_sub", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("land_price_zones_sub")
    op.drop_geospatial_index(
        "idx_land_price_zones_geom", table_name="land_price_zones", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("land_price_zones")
    op.drop_index(op.f("ix_eco_redline_sub_feature_id"), table_name="eco_redline_sub")
    op.drop_geospatial_index(
        "idx_eco_redline_sub_geom", table_name="eco_redline_sub", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("eco_redline_sub")
    op.drop_geospatial_index(
        "idx_eco_redline_geom", table_name="eco_redline", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("eco_redline")
    op.drop_index(op.f("ix_basic_farmland_sub_feature_id"), table_name="basic_farmland_sub")
    op.drop_geospatial_index(
        "idx_basic_farmland_sub_geom", table_name="basic_farmland_sub", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("basic_farmland_sub")
    op.drop_geospatial_index(
        "idx_basic_farmland_geom", table_name="basic_farmland", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("basic_farmland")

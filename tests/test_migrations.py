import psycopg
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from gis.catalog import catalog, is_partition
from service.core.db import downgrade, migrate
from service.core.models import Base
from service.core.settings import sqlalchemy_url


def _diff(url: str) -> list:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as c:
            ctx = MigrationContext.configure(
                c,
                opts={
                    "include_object": lambda o, n, t, r, ct: (
                        not (t == "table" and (n == "spatial_ref_sys" or is_partition(n)))
                    )
                },
            )
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_migrations_build_the_models_schema(db_url):
    assert _diff(db_url) == []


def test_every_layer_has_a_gist_index(db_url):
    with psycopg.connect(db_url) as conn:
        for name, spec in catalog().items():
            idx = conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexdef ILIKE '%%gist%%'", (name,)
            ).fetchall()
            assert idx, name
            srid = conn.execute("SELECT Find_SRID('public', %s, 'geom')", (name,)).fetchone()[0]
            assert srid == 4490
            if spec.subdivide:
                assert conn.execute("SELECT to_regclass(%s)", (spec.sub_name,)).fetchone()[0] is not None


def test_downgrade_to_base_and_up_again(db_url):
    downgrade(db_url, "base")
    engine = create_engine(sqlalchemy_url(db_url))
    tables = set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
    engine.dispose()
    assert tables == set()
    migrate(db_url)
    assert _diff(db_url) == []

"""Shared fixtures: one real PostGIS cluster per test session, a fresh migrated database per test."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from fastapi.testclient import TestClient
from pytest_postgresql.janitor import DatabaseJanitor

from gis.catalog import catalog, layer
from gis.importer import load, prepare, read
from service.access.auth import demo_users, hash_secret
from service.core.cluster import SUPERUSER, ClusterError, EmbeddedCluster
from service.core.db import migrate
from service.core.settings import Settings, get_settings
from tests.support.api import Api
from tests.support.onemap import load_one_map
from web.app import create_app
from web.server import serving

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_DB_PORT = int(os.environ.get("LANDWINDOW_TEST_DB_PORT", "25433"))


def _test_port() -> int:
    """The configured test port, or a free one when another test run holds it."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", TEST_DB_PORT))
            return TEST_DB_PORT
        except OSError:
            pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TEMPLATE_DB = "lw_template"
TEST_SERVER_CONF = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
"""A throw-away cluster need not survive a crash."""
REAL_PARTS = {"db", "browser"}


def unavailable(reason: str) -> None:
    """Skip a test whose real part (PostGIS, Chromium) is missing; under CI that is a failure."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"pg_cluster", "db_url", "conn"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Under CI a skipped database or browser test means the real part was missing: fail the run.
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    real = [r for r in skipped if REAL_PARTS & set(getattr(r, "keywords", {}))]
    if real:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line(f"CI: {len(real)} database/browser tests were skipped; that fails the run", red=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[EmbeddedCluster]:
    """Start a private PostGIS cluster for the session on its own port; removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="landwindow-test-", dir="/tmp"))
    root.chmod(0o755)  # the server user (postgres, when we are root) must reach it
    cluster = EmbeddedCluster(root=root, port=_test_port(), db_name=TEMPLATE_DB)
    try:
        cluster.check_binaries()
        # wal_level = replica: tests/test_replica.py streams this cluster to a hot standby (pg_basebackup)
        cluster.start(extra_conf={**TEST_SERVER_CONF, "wal_level": "replica", "max_wal_senders": "4"})
    except ClusterError as exc:
        cluster.destroy()
        unavailable(str(exc))
    try:
        migrate(cluster.url(TEMPLATE_DB))
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def db_url(pg_cluster: EmbeddedCluster) -> Iterator[str]:
    """Yield the URL of a fresh database cloned from the migrated template; dropped after the test."""
    name = f"lw_{uuid.uuid4().hex[:12]}"
    with DatabaseJanitor(
        user=SUPERUSER,
        host="127.0.0.1",
        port=pg_cluster.port,
        dbname=name,
        template_dbname=TEMPLATE_DB,
        password=pg_cluster.password(),
    ):
        yield pg_cluster.url(name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """Yield a psycopg connection to the test's database."""
    with psycopg.connect(db_url) as c:
        yield c


@pytest.fixture
def load_layer(conn):
    """Return a function that loads features (GeoDataFrame-like rows and geometries, EPSG:4526) into a layer."""

    def _load(name: str, rows: list[dict], geoms: list, crs: int = 4526, replace: bool = True):
        gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=crs)
        gdf.index = [str(i + 1) for i in range(len(gdf))]
        return load(conn, prepare(gdf, layer(name), source=f"test:{name}"), replace=replace)

    return _load


@pytest.fixture(scope="session")
def staff_hashes() -> dict[str, str]:
    """Argon2 hashes of the demo passwords, computed once per session (hashing is deliberately slow)."""
    return {u["password"]: hash_secret(u["password"]) for u in demo_users()}


@pytest.fixture
def staff(conn, staff_hashes) -> dict[str, dict]:
    """Insert the demo staff into the test database; return them by username."""
    users = {u["username"]: u for u in demo_users()}
    with conn.cursor() as cur:
        for u in users.values():
            cur.execute(
                "INSERT INTO users (username, display_name, role, department, password_hash) VALUES (%s, %s, %s, %s, %s)",
                (u["username"], u.get("display_name", ""), u["role"], u.get("department"), staff_hashes[u["password"]]),
            )
    conn.commit()
    return users


TEST_KEY = "test-secret-key-0123456789abcdef"
"""The secret key of the test apps (a test that needs another key makes its own settings)."""


@pytest.fixture
def make_settings(db_url, tmp_path):
    """Return a function building the app's settings over the test database (keyword arguments override)."""

    def settings(**overrides) -> Settings:
        values = {"database_url": db_url, "data_dir": tmp_path, "secret_key": TEST_KEY}
        return Settings(_env_file=None, **{**values, **overrides})

    return settings


@pytest.fixture
def client(make_settings):
    """A test client of the real app over the test database (lifespan run: the pool is open)."""

    with TestClient(create_app(make_settings())) as c:
        yield c


@pytest.fixture
def api(client, staff):
    """The REST API as the demo staff (bearer tokens per role), over the test database."""
    return Api(client, staff)


@pytest.fixture
def one_map(load_layer):
    """Load the small synthetic one map of tests/support/onemap.py."""
    load_one_map(load_layer)


@pytest.fixture
def sample_app(db_url, conn, staff, tmp_path):
    """Serve the real app on loopback over a database holding the sample county and the demo staff."""
    from gis.importer import load

    county = Path(__file__).resolve().parent.parent / "sample_parcels" / "county.gpkg"
    for name in catalog():
        load(conn, read(county, name))
    with serving(Settings(_env_file=None, database_url=db_url, data_dir=tmp_path, secret_key="w" * 32)) as url:
        yield url


@pytest.fixture
def cli_db(db_url, monkeypatch):
    """Point the `landwindow` command at the test database through LANDWINDOW_DATABASE_URL."""
    monkeypatch.setenv("LANDWINDOW_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()

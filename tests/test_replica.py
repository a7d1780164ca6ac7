"""A real streaming replica of the test cluster: reads go to it, follow the primary, and fall back when it stops."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import mapbox_vector_tile
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import InternalError
from sqlalchemy.orm import Session

from service.core.cluster import EmbeddedCluster
from tests.conftest import TEST_SERVER_CONF
from tests.support.api import Api
from tests.support.onemap import b, lonlat
from web.app import create_app
from web.server import free_port

PARCELS = {"parcel_no": "JA001"}, {"parcel_no": "JA002"}


@pytest.fixture
def standby(pg_cluster: EmbeddedCluster, db_url: str) -> Iterator[EmbeddedCluster]:
    """A hot standby of the test cluster (the test's database included), streaming on its own loopback port."""
    root = Path(tempfile.mkdtemp(prefix="landwindow-standby-", dir="/tmp"))
    replica = pg_cluster.make_standby(root, free_port())
    try:
        replica.start(extra_conf=TEST_SERVER_CONF)
        yield replica
    finally:
        replica.destroy()


def _tile_url() -> str:
    import math

    c = lonlat(b(0, 0, 200, 100)).centroid
    n = 2**16
    x = int((c.x + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(c.y))) / math.pi) / 2 * n)
    return f"/tiles/parcels/16/{x}/{y}.pbf"


def _parcel_nos(content: bytes) -> list[str]:
    return sorted(f["properties"]["parcel_no"] for f in mapbox_vector_tile.decode(content)["parcels"]["features"])


def _until(what: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_reads_go_to_the_replica_follow_the_primary_and_fall_back(
    standby, db_url, conn, load_layer, make_settings, staff
):
    db_name = db_url.rsplit("/", 1)[1]
    load_layer("parcels", list(PARCELS), [b(0, 0, 100, 100), b(100, 0, 200, 100)])
    settings = make_settings(replica_urls=standby.url(db_name), replica_check_seconds=0.1)
    replica = psycopg.connect(standby.url(db_name), autocommit=True)
    with TestClient(create_app(settings)) as client, replica:
        health = client.get("/healthz").json()
        assert health["status"] == "ok" and health["reads"] == "replicas"
        assert [(r["replica"], r["state"], r["reason"]) for r in health["replicas"]] == [(1, "up", None)]
        tile = _tile_url()
        _until(lambda: client.get(tile).headers.get("etag") == '"parcels-1"')
        assert _parcel_nos(client.get(tile).content) == ["JA001", "JA002"]

        # The replica stops replaying; a re-import on the primary is not seen by the tiles: they come from the replica
        replica.execute("SELECT pg_wal_replay_pause()")
        load_layer("parcels", [{"parcel_no": "JB001"}], [b(0, 0, 200, 100)])
        assert client.get("/healthz").json()["layers"]["parcels"]["version"] == 2  # the primary's
        r = client.get(tile)
        assert r.headers["etag"] == '"parcels-1"' and _parcel_nos(r.content) == ["JA001", "JA002"]
        assert client.get("/tiles/parcels.json").json()["version"] == "1"

        # Replay resumes: the replica's tiles follow the re-import
        replica.execute("SELECT pg_wal_replay_resume()")
        _until(lambda: client.get(tile).headers["etag"] == '"parcels-2"')
        assert _parcel_nos(client.get(tile).content) == ["JB001"]
        assert client.get("/tiles/parcels.json").json()["version"] == "2"

        # Statistics and planner views read on the replica, read-only
        api = Api(client, staff)
        assert api.get("/api/v1/reports/monthly?month=2026-01", as_="leader").status_code == 200
        assert api.get("/api/v1/conversions", as_="planner").status_code == 200

        # The replica stops: every read is answered from the primary, and /healthz says so
        replica.close()
        standby.stop()
        r = client.get(tile)
        assert r.status_code == 200 and r.headers["etag"] == '"parcels-2"'
        assert client.get("/tiles/parcels.json").status_code == 200
        assert client.get("/map").status_code == 200
        assert api.get("/api/v1/reports/monthly?month=2026-01", as_="leader").status_code == 200
        assert api.get("/api/v1/conversions", as_="planner").status_code == 200
        health = client.get("/healthz").json()
        assert health["status"] == "degraded" and health["database"] == "ok" and health["reads"] == "primary"
        assert health["replicas"][0]["state"] == "down" and health["replicas"][0]["reason"] == "unreachable"


def test_a_replica_behind_by_more_than_the_limit_is_set_aside_until_it_catches_up(
    standby, db_url, load_layer, make_settings
):
    db_name = db_url.rsplit("/", 1)[1]
    load_layer("parcels", list(PARCELS), [b(0, 0, 100, 100), b(100, 0, 200, 100)])
    settings = make_settings(replica_urls=standby.url(db_name), replica_check_seconds=0.1, replica_max_lag_seconds=0.5)
    tile = _tile_url()
    with TestClient(create_app(settings)) as client, psycopg.connect(standby.url(db_name), autocommit=True) as replica:
        _until(lambda: client.get("/healthz").json()["replicas"][0]["state"] == "up")
        replica.execute("SELECT pg_wal_replay_pause()")
        load_layer("parcels", [{"parcel_no": "JB001"}], [b(0, 0, 200, 100)])
        _until(lambda: client.get("/healthz").json()["replicas"][0]["state"] == "behind")
        health = client.get("/healthz").json()
        assert health["status"] == "degraded" and health["reads"] == "primary"
        assert health["replicas"][0]["lag_bytes"] > 0 and health["replicas"][0]["lag_seconds"] >= 0.5
        r = client.get(tile)  # from the primary: the re-import is there
        assert r.headers["etag"] == '"parcels-2"' and _parcel_nos(r.content) == ["JB001"]
        replica.execute("SELECT pg_wal_replay_resume()")
        _until(lambda: client.get("/healthz").json()["replicas"][0]["state"] == "up")
        assert client.get("/healthz").json()["status"] == "ok"


def test_read_sessions_refuse_writes_even_on_the_primary(client):
    reads = client.app.state.reads
    assert reads.replicas == [] and reads.status() == {"reads": "primary", "replicas": []}
    insert = text("INSERT INTO layer_versions (layer, version, feature_count) VALUES ('x', 1, 0)")
    for _ in range(2):
        with reads.session({}) as session:
            assert session.execute(text("SELECT count(*) FROM users")).scalar() == 0
            with pytest.raises(InternalError, match="read-only transaction"):
                session.execute(insert)
    # the pooled connections go back writable: the next ordinary session writes
    engine = client.app.state.engine
    assert engine.pool.checkedin() == 1  # the very connection the read-only sessions used
    with Session(engine) as session:
        session.execute(insert)
        session.commit()
        assert session.execute(text("SELECT count(*) FROM layer_versions WHERE layer = 'x'")).scalar() == 1

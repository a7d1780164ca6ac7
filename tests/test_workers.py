"""`landwindow serve --workers 2`: two server processes over one database, each with its own tile cache."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mapbox_vector_tile
import pytest

from tests.support.onemap import b, lonlat
from web.server import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def two_workers(db_url: str, tmp_path: Path) -> Iterator[str]:
    """Run `landwindow serve --workers 2` on the test database; yield its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "LANDWINDOW_DATABASE_URL": db_url,
        "LANDWINDOW_DATA_DIR": str(tmp_path),  # no secret key set: serve generates one both workers read
        "LANDWINDOW_SECRET_KEY": "",
        "LANDWINDOW_LOGIN_FAILURES_PER_USER_AND_IP": "3",
    }
    command = [sys.executable, "-m", "service.cli.app", "serve", "--port", str(port), "--workers", "2"]
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # two processes starting on two busy cores
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _clients_per_worker(base: str) -> dict[int, httpx.Client]:
    """One keep-alive connection to each worker, told apart by the process id /healthz names."""
    clients: dict[int, httpx.Client] = {}
    for _ in range(60):
        client = httpx.Client(base_url=base, timeout=10)
        pid = client.get("/healthz").json()["worker"]
        if pid in clients:
            client.close()
        else:
            clients[pid] = client
        if len(clients) == 2:
            return clients
    raise AssertionError(f"only {len(clients)} worker answered 60 new connections")


def _tile(client: httpx.Client, url: str) -> tuple[str, list[str]]:
    r = client.get(url)
    assert r.status_code == 200, r.text
    feats = mapbox_vector_tile.decode(r.content)["parcels"]["features"]
    return r.headers["etag"], sorted(f["properties"]["parcel_no"] for f in feats)


def test_a_re_import_is_seen_by_every_worker_and_a_login_holds_across_them(load_layer, staff, two_workers):
    import math

    load_layer("parcels", [{"parcel_no": "JA001"}, {"parcel_no": "JA002"}], [b(0, 0, 100, 100), b(100, 0, 200, 100)])
    c = lonlat(b(0, 0, 200, 100)).centroid
    x, y = int((c.x + 180) / 360 * 2**16), int((1 - math.asinh(math.tan(math.radians(c.y))) / math.pi) / 2 * 2**16)
    url = f"/tiles/parcels/16/{x}/{y}.pbf"
    clients = _clients_per_worker(two_workers)
    try:
        for client in clients.values():  # rendered, then served from each worker's own cache
            assert _tile(client, url) == ('"parcels-1"', ["JA001", "JA002"])
            assert _tile(client, url) == ('"parcels-1"', ["JA001", "JA002"])
        load_layer("parcels", [{"parcel_no": "JB001"}], [b(0, 0, 200, 100)])
        for client in clients.values():
            assert _tile(client, url) == ('"parcels-2"', ["JB001"])
            assert client.get(url, headers={"If-None-Match": '"parcels-1"'}).status_code == 200
            assert client.get(url, headers={"If-None-Match": '"parcels-2"'}).status_code == 304

        # a token issued by one worker is good in the other: the key both sign with was written before they started
        first, second = clients.values()
        clerk = staff["clerk"]
        r = first.post("/api/v1/auth/token", data={"username": "clerk", "password": clerk["password"]})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        assert second.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        for client in clients.values():
            client.close()


def test_failure_limits_and_a_logout_hold_across_both_workers(staff, two_workers):
    clients = _clients_per_worker(two_workers)
    first, second = clients.values()
    try:
        # three wrong passwords for `leader`, spread over the two workers: the limit is counted in PostgreSQL
        for client in (first, second, first):
            r = client.post("/api/v1/auth/token", data={"username": "leader", "password": "wrong-password"})
            assert r.status_code == 401, r.text
        for client in (second, first):  # the fourth attempt is refused, even with the right password, by either
            r = client.post("/api/v1/auth/token", data={"username": "leader", "password": staff["leader"]["password"]})
            assert r.status_code == 429, r.text
            assert int(r.headers["retry-after"]) > 0
        # another name from the same address is not locked out by them
        clerk = staff["clerk"]["password"]
        r = first.post("/api/v1/auth/token", data={"username": "clerk", "password": clerk})
        assert r.status_code == 200, r.text
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert second.get("/api/v1/cases", headers=bearer).status_code == 200

        # a logout on one worker ends the login on the other at once (no worker keeps it in its memory)
        assert second.post("/api/v1/auth/logout", headers=bearer).status_code == 204
        for client in (first, second):
            r = client.get("/api/v1/cases", headers=bearer)
            assert r.status_code == 401, r.text
    finally:
        for client in clients.values():
            client.close()

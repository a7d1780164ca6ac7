"""One small hostile upload no longer freezes the server (#14): a 1 MB zipped Shapefile whose .dbf expands to 1 GiB,
a self-intersecting 2000-point star and a 100 000-deep drawn GeoJSON, sent to a real server, are refused with 422
naming the limit within 3 s, while /healthz, asked from another thread all along, answers within 1 s every time.
The upload is parsed in the thread pool, in a parser process killed at its deadline (gis.boundary.bounded)."""

import asyncio
import threading
import time

import httpx
import pytest

from service.core.settings import Settings
from tests.support.live import CLEAN_TXT
from tests.test_boundary_bounds import MiB, bomb, shapefile, star, stored, txt, zip_of  # noqa: F401 (a fixture)
from web.server import serving

KEY = "freeze-secret-key-0123456789abcdef"


@pytest.fixture
def live(db_url, staff, tmp_path):
    settings = Settings(_env_file=None, database_url=db_url, data_dir=tmp_path, secret_key=KEY)
    with serving(settings) as base:
        token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "clerk", "password": "clerk-demo-2026"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        # the parser processes are started with the server; a first file waits until they are ready
        r = httpx.post(
            f"{base}/api/v1/checks",
            headers=headers,
            data={"kind": "homestead"},
            files={"file": (CLEAN_TXT.name, CLEAN_TXT.read_bytes())},
            timeout=120,
        )
        assert r.status_code == 200, r.text
        yield base, headers


def _while_polling_health(base: str, send) -> tuple[httpx.Response, float, list[float]]:
    """Send a request while another thread asks /healthz every 50 ms; return the answer, its time and health's times."""
    stop, times, statuses = threading.Event(), [], []

    def poll():
        with httpx.Client(base_url=base, timeout=10) as c:
            while not stop.is_set():
                started = time.perf_counter()
                statuses.append(c.get("/healthz").status_code)
                times.append(time.perf_counter() - started)
                time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        time.sleep(0.2)
        started = time.perf_counter()
        response = send()
        elapsed = time.perf_counter() - started
        time.sleep(0.2)
    finally:
        stop.set()
        poller.join()
    assert set(statuses) == {200}, statuses
    return response, elapsed, times


def _codes(r: httpx.Response) -> list[str]:
    return [i["code"] for i in r.json().get("issues") or []]


def test_a_zip_bomb_is_refused_while_the_server_keeps_answering(live, shapefile):  # noqa: F811
    base, headers = live
    data = zip_of(
        [
            stored("zd.shp", shapefile["shp"]),
            stored("zd.shx", shapefile["shx"]),
            stored("zd.prj", shapefile["prj"]),
            bomb("zd.dbf", 1024 * MiB),
        ]
    )
    assert len(data) < 1.1 * MiB  # 1 MB that expands to 1 GiB

    def send():
        return httpx.post(
            f"{base}/api/v1/checks",
            headers=headers,
            data={"kind": "homestead"},
            files={"file": ("bomb.zip", data, "application/zip")},
            timeout=60,
        )

    r, elapsed, health = _while_polling_health(base, send)
    assert r.status_code == 422 and _codes(r)[0] == "zip_too_large", r.text
    assert "32 MiB" in r.json()["detail"], r.json()["detail"]  # the limit, named
    assert elapsed < 3.0 and max(health) < 1.0, (elapsed, max(health))


def test_a_2000_point_star_is_refused_while_the_server_keeps_answering(live):
    base, headers = live
    data = txt([star()])
    assert len(data) < 100_000

    def send():
        return httpx.post(
            f"{base}/api/v1/checks",
            headers=headers,
            data={"kind": "homestead"},
            files={"file": ("star.txt", data, "text/plain")},
            timeout=60,
        )

    r, elapsed, health = _while_polling_health(base, send)
    assert r.status_code == 422 and "self_intersection" in _codes(r), r.text
    assert elapsed < 3.0 and max(health) < 1.0, (elapsed, max(health))


def test_a_100000_deep_drawn_geojson_is_a_clean_422_on_the_api_and_the_intake_page(live):
    base, headers = live
    deep = '{"type": "Polygon", "coordinates": ' + "[" * 100_000 + "]" * 100_000 + "}"

    def send():
        return httpx.post(
            f"{base}/api/v1/checks", headers=headers, data={"kind": "homestead", "geojson": deep}, timeout=60
        )

    r, elapsed, health = _while_polling_health(base, send)
    assert r.status_code == 422 and _codes(r) == ["json_too_deep"], r.text
    assert "limit of 32 levels" in r.json()["detail"]
    assert elapsed < 3.0 and max(health) < 1.0, (elapsed, max(health))
    with httpx.Client(base_url=base, timeout=60) as page:
        page.get("/login")
        form = {"username": "clerk", "password": "clerk-demo-2026", "csrf_token": page.cookies["lw_csrf"]}
        assert page.post("/login", data=form).status_code in (200, 303)
        r = page.post(
            "/cases/new",
            data={"csrf_token": page.cookies["lw_csrf"], "kind": "homestead", "boundary_geojson": deep},
        )
        assert r.status_code == 422 and "the JSON nests deeper than the limit of 32 levels" in r.text, r.text[:300]
        # the case page's boundary replacement reads a drawn polygon the same way
        from tests.support.live import LiveApi

        case = LiveApi(base).clean_homestead()
        form = {"csrf_token": page.cookies["lw_csrf"], "version": str(case["version"]), "boundary_geojson": deep}
        r = page.post(f"/cases/{case['id']}/boundary", data=form)
        assert r.status_code == 422 and "the JSON nests deeper than the limit of 32 levels" in r.text, r.text[:300]


def test_a_slow_parse_runs_off_the_event_loop(live, monkeypatch):
    """Whatever a parse costs, it costs a worker thread: a parse made to take 2 s leaves /healthz answering at once
    (parsed on the event loop, as before, every /healthz would have waited the 2 s)."""
    from service.cases import boundaries

    base, headers = live
    real, where = boundaries.read_boundary_bytes_bounded, []

    def slow(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            where.append("event loop")
        except RuntimeError:
            where.append("worker thread")
        time.sleep(2.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(boundaries, "read_boundary_bytes_bounded", slow)

    def send():
        return httpx.post(
            f"{base}/api/v1/checks",
            headers=headers,
            data={"kind": "homestead"},
            files={"file": (CLEAN_TXT.name, CLEAN_TXT.read_bytes())},
            timeout=60,
        )

    r, elapsed, health = _while_polling_health(base, send)
    assert r.status_code == 200 and elapsed >= 2.0, (r.status_code, elapsed)
    assert max(health) < 1.0 and len(health) >= 10, health
    assert where == ["worker thread"]

"""Vector tile benchmark on the 1M-parcel county: our tile endpoint vs tipg serving the same `parcels` table.

    .venv/bin/python bench/tiles.py [--tiles 100] [--passes 3]

Both servers run in their own process against the same database: `landwindow serve` and tipg (installed into
bench/.venv-tipg on first use). Same tile list at z14, z15 and z16 (tiles under a seeded sample of parcels), same
buffer (64), same feature limit, the same attribute columns, identity encoding on both. Requests alternate between
the servers tile by tile so all see the same machine load; p50/p95 per zoom after a warm-up pass.

"ours" renders every tile in PostGIS (LANDWINDOW_TILE_CACHE_MB=0), like tipg. "ours, cached" is the default
configuration: a tile of a layer version is rendered once and then served from memory, which is what every clerk
after the first one gets; it is printed for information, the comparison with tipg is the uncached one. Neither
server writes an access log (tipg runs at log level warning).

With --view (the default), every layer of the county is loaded as well and a second table compares what the map
costs per tile position: the eight layers it shows, ours in one request (/tiles/{z}/{x}/{y}.pbf?layers=…, one
statement), tipg in one request per layer as a map client of it has to ask.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import httpx
import mapbox_vector_tile
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, bench_cluster, county, landwindow_server, percentiles, server_process  # noqa: E402
from gis.catalog import layer  # noqa: E402
from gis.importer import load, read  # noqa: E402
from gis.tiles import BUFFER  # noqa: E402
from web.server import free_port  # noqa: E402

TIPG_VENV = ROOT / "bench" / ".venv-tipg"
LIMIT = 20000
VIEW_LAYERS = (
    "townships",
    "landuse",
    "parcels",
    "basic_farmland",
    "village_boundary",
    "urban_boundary",
    "eco_redline",
    "mining_rights",
)
"""The layers the map shows at first (web/pages/common.py MAP_LAYERS without the hidden price zones)."""


def tipg_python() -> Path:
    """Return tipg's interpreter, installing tipg into its own venv the first time (its pins differ from ours).

    tipg gets the HTTP stack ours runs on, uvicorn[standard] (httptools, uvloop): the comparison is of tiles, not
    of HTTP parsers.
    """
    python = TIPG_VENV / "bin" / "python"
    if not (TIPG_VENV / "bin" / "uvicorn").exists():
        print("installing tipg into bench/.venv-tipg …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
    if subprocess.run([str(python), "-c", "import httptools, uvloop, tipg"], capture_output=True).returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn[standard]"], check=True)
    return python


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """Return the Web Mercator tile holding a lon/lat point."""
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, x, y


def ids(r: httpx.Response) -> list[int]:
    """Return the sorted feature ids of a tile response."""
    return (
        sorted(f["id"] for v in mapbox_vector_tile.decode(r.content).values() for f in v["features"])
        if r.content
        else []
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tiles", type=int, default=100, help="tiles per zoom")
    p.add_argument("--passes", type=int, default=3, help="measured passes over the tile list")
    p.add_argument("--view", action=argparse.BooleanOptionalAction, default=True, help="also compare map views")
    a = p.parse_args()
    tipg = tipg_python()
    spec = layer("parcels")
    columns = spec.public_columns
    with bench_cluster() as cluster:
        url = cluster.url()
        t = time.perf_counter()
        with psycopg.connect(url) as conn:
            for name in VIEW_LAYERS if a.view else ("parcels",):
                load(conn, read(county(1_000_000), name))
            # every k-th parcel's point on surface: the same sample in every run
            step = max(1, conn.execute("SELECT count(*) FROM parcels").fetchone()[0] // a.tiles)  # type: ignore[index]
            points = conn.execute(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM parcels WHERE id %% %s = 0 ORDER BY id) s",
                (step,),
            ).fetchall()[: a.tiles]
        loaded = ", ".join(VIEW_LAYERS) if a.view else spec.name
        print(f"loaded {loaded} of the 1M county in {time.perf_counter() - t:.0f} s; {len(points)} tiles per zoom")
        tipg_env = {
            "DATABASE_URL": url,
            "TIPG_DB_SCHEMAS": '["public"]',
            "TIPG_DB_TABLES": json.dumps([f"public.{name}" for name in (VIEW_LAYERS if a.view else ("parcels",))]),
            "TIPG_TILE_BUFFER": str(BUFFER),
            "TIPG_MAX_FEATURES_PER_TILE": str(LIMIT),
            "TIPG_DB_SPATIAL_EXTENT": "false",
            "TIPG_DB_DATETIME_EXTENT": "false",
            "TIPG_DB_MAX_CONN_SIZE": "10",
        }
        tipg_port = free_port()
        tipg_cmd = [
            str(tipg),
            "-m",
            "uvicorn",
            "tipg.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(tipg_port),
            "--log-level",
            "warning",
        ]
        props = ",".join(columns)
        with (
            # no access log on either side: tipg runs at log level warning
            landwindow_server(url, free_port(), tile_cache_mb="0", access_log="false") as ours_base,
            landwindow_server(url, free_port(), access_log="false") as cached_base,
            server_process(tipg_cmd, tipg_env, "/healthz", tipg_port) as tipg_base,
            httpx.Client(headers={"Accept-Encoding": "identity"}, timeout=60) as client,
        ):

            def ours(z: int, x: int, y: int) -> httpx.Response:
                return client.get(f"{ours_base}/tiles/parcels/{z}/{x}/{y}.pbf")

            def cached(z: int, x: int, y: int) -> httpx.Response:
                return client.get(f"{cached_base}/tiles/parcels/{z}/{x}/{y}.pbf")

            def theirs(z: int, x: int, y: int) -> httpx.Response:
                return client.get(
                    f"{tipg_base}/collections/public.parcels/tiles/WebMercatorQuad/{z}/{x}/{y}",
                    params={"properties": props, "limit": LIMIT},
                )

            print(
                f"{'zoom':>4} | {'ours p50':>9} {'p95':>7} | {'tipg p50':>9} {'p95':>7} | ratio p50  p95 (target ≤ 0.5) "
                f"| features ours/tipg | ours, cached p50 p95"
            )
            for z in (14, 15, 16):
                tiles = [tile_of(lon, lat, z) for lon, lat in points]
                counts = [0, 0]
                for tile in tiles:  # warm-up, and the same features on both sides
                    mine, other = ours(*tile), theirs(*tile)
                    assert ids(cached(*tile)) == ids(mine)  # feature order may differ (parallel scans)
                    assert mine.status_code in (200, 204) and other.status_code in (200, 204), (mine.text, other.text)
                    counts[0] += len(ids(mine))
                    counts[1] += len(ids(other))
                times: tuple[list[float], list[float], list[float]] = ([], [], [])
                for _ in range(a.passes):
                    for tile in tiles:
                        for i, fetch in enumerate((ours, theirs, cached)):
                            t = time.perf_counter()
                            fetch(*tile)
                            times[i].append(time.perf_counter() - t)
                (o50, o95), (t50, t95), (c50, c95) = (percentiles(t) for t in times)
                print(
                    f"{z:>4} | {o50 * 1000:7.1f}ms {o95 * 1000:5.1f}ms | {t50 * 1000:7.1f}ms {t95 * 1000:5.1f}ms | "
                    f"{o50 / t50:9.2f} {o95 / t95:5.2f}{'':18} | {counts[0]:>8}/{counts[1]:<9} | "
                    f"{c50 * 1000:5.1f}ms {c95 * 1000:5.1f}ms"
                )
            if a.view:
                compare_views(client, ours_base, tipg_base, points, a.passes)


def compare_views(client: httpx.Client, ours_base: str, tipg_base: str, points: list, passes: int) -> None:
    """Time whole map views (5 × 4 tiles, 1366 × 768) fetched over six connections, as a browser does."""
    names = ",".join(VIEW_LAYERS)

    def ours(tile: tuple[int, int, int]) -> list[str]:
        return [f"{ours_base}/tiles/{tile[0]}/{tile[1]}/{tile[2]}.pbf?layers={names}"]

    def theirs(tile: tuple[int, int, int]) -> list[str]:
        return [
            f"{tipg_base}/collections/public.{name}/tiles/WebMercatorQuad/{tile[0]}/{tile[1]}/{tile[2]}?"
            + urlencode({"properties": ",".join(layer(name).public_columns), "limit": LIMIT})
            for name in VIEW_LAYERS
            if tile[0] >= layer(name).minzoom
        ]

    def view(urls: list[str], pool: ThreadPoolExecutor) -> float:
        t = time.perf_counter()
        for r in pool.map(client.get, urls):
            assert r.status_code in (200, 204), r.text
        return time.perf_counter() - t

    print(
        f"\nmap view: {len(VIEW_LAYERS)} layers, 5 × 4 tiles, 6 connections | {'ours':>8} | {'tipg':>8} | ratio | "
        "requests ours/tipg"
    )
    with ThreadPoolExecutor(6) as pool:
        for z in (14, 15, 16):
            centres = [tile_of(lon, lat, z) for lon, lat in points[:20]]
            views = [[(z, cx + dx, cy + dy) for dx in range(-2, 3) for dy in range(-2, 2)] for _, cx, cy in centres]
            lists = [([u for t in v for u in ours(t)], [u for t in v for u in theirs(t)]) for v in views]
            for mine, other in lists:  # warm-up
                view(mine, pool), view(other, pool)
            times: tuple[list[float], list[float]] = ([], [])
            for _ in range(passes):
                for mine, other in lists:
                    times[0].append(view(mine, pool))
                    times[1].append(view(other, pool))
            o50, t50 = percentiles(times[0])[0], percentiles(times[1])[0]
            print(
                f"{'z' + str(z):>52} | {o50 * 1000:6.0f}ms | {t50 * 1000:6.0f}ms | {o50 / t50:5.2f} | "
                f"{len(lists[0][0])}/{len(lists[0][1])}"
            )


if __name__ == "__main__":
    main()

"""Vector tile benchmark on the 1M-parcel county: our tile endpoint vs tipg serving the same `parcels` table.

    .venv/bin/python bench/tiles.py [--tiles 100] [--passes 3]

Both servers run in their own process against the same database: `landwindow serve` and tipg (installed into
bench/.venv-tipg on first use). Same tile list at z14, z15 and z16 (tiles under a seeded sample of parcels), same
buffer (64), same feature limit, the same attribute columns, identity encoding on both. Requests alternate between
the servers tile by tile so all see the same machine load; p50/p95 per zoom after a warm-up pass.

"ours" renders every tile in PostGIS (LANDWINDOW_TILE_CACHE_MB=0), like tipg. "ours, cached" is the default
configuration: a tile of a layer version is rendered once and then served from memory, which is what every clerk
after the first one gets; it is printed for information, the comparison with tipg is the uncached one.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

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


def tipg_python() -> Path:
    """Return tipg's interpreter, installing tipg into its own venv the first time (its pins differ from ours)."""
    python = TIPG_VENV / "bin" / "python"
    if not (TIPG_VENV / "bin" / "uvicorn").exists():
        print("installing tipg into bench/.venv-tipg …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn"], check=True)
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
    a = p.parse_args()
    tipg = tipg_python()
    spec = layer("parcels")
    columns = spec.public_columns
    with bench_cluster() as cluster:
        url = cluster.url()
        t = time.perf_counter()
        with psycopg.connect(url) as conn:
            load(conn, read(county(1_000_000), "parcels"))
            # every k-th parcel's point on surface: the same sample in every run
            step = max(1, conn.execute("SELECT count(*) FROM parcels").fetchone()[0] // a.tiles)  # type: ignore[index]
            points = conn.execute(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM parcels WHERE id %% %s = 0 ORDER BY id) s",
                (step,),
            ).fetchall()[: a.tiles]
        print(f"loaded {spec.name} of the 1M county in {time.perf_counter() - t:.0f} s; {len(points)} tiles per zoom")
        tipg_env = {
            "DATABASE_URL": url,
            "TIPG_DB_SCHEMAS": '["public"]',
            "TIPG_DB_TABLES": '["public.parcels"]',
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
                f"{'zoom':>4} | {'ours p50':>9} {'p95':>7} | {'tipg p50':>9} {'p95':>7} | ratio p50  p95 (target ≤ 0.7) "
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


if __name__ == "__main__":
    main()

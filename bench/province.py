"""Province benchmark: many counties in one instance (layer tables LIST-partitioned by county).

    .venv/bin/python bench/province.py [--counties 10] [--parcels 1000000] [--runs 50] [--tiles 40]

County 1 is the generated benchmark county (bench/data/county_<n>k.gpkg, made on first use), imported with
`landwindow import`'s loader. Counties 2..N are the same county moved north by 0.6° each (the same 3° zone), filled
in SQL (each a table of its own, indexed once, attached as the county's partition), so a ten-county instance needs no
ten generated files. With --counties 10 and the default 1M parcels that is the issue's 10M-parcel province.

(a) import rate: the parcels of county 1 into the one-county instance, and again into county 1's partition of the
    N-county instance (the other N-1 partitions untouched), against ogr2ogr of the same file into a table of its own
    (with the same indexes and ANALYZE: the same end state);
(b) check latency: the homestead and 50 ha requisition checks through POST /api/v1/checks, p50/p95 over --runs, at
    one county and at N counties; the growth ratio N / 1 is printed;
(c) tiles: parcels at z14, z15 and z16 from our endpoint (cache off) and from tipg, at N counties, ratio of p50s
    (target ≤ 0.5).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DATA, bench_cluster, county, landwindow_server, percentiles, server_process  # noqa: E402
from bench.tiles import LIMIT, ids, tile_of, tipg_python  # noqa: E402
from gis.catalog import catalog, layer, partition_name  # noqa: E402
from gis.importer import load, read  # noqa: E402
from gis.tiles import BUFFER  # noqa: E402
from service.access.auth import hash_secret  # noqa: E402
from web.server import free_port  # noqa: E402

FIRST = 421202  # the county of the generated file (Xian'an); the others take the next codes
SHIFT_DEG = 0.6  # north per county: a county is about 0.4° tall
ID_STRIDE = 10**9  # county k's copies keep their ids + k × this (the sequences never reach it)


def fill_county(conn: psycopg.Connection, k: int) -> str:
    """Copy county 1's every layer as county k+1, moved north; return its code."""
    code = str(FIRST + k)
    dy = SHIFT_DEG * k
    for spec in catalog().values():
        tables = [(spec.name, "id")] + ([(spec.sub_name, "feature_id")] if spec.sub_table is not None else [])
        for table, key in tables:
            part, source = partition_name(table, code), partition_name(table, str(FIRST))
            columns = [
                r[0]
                for r in conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                    "AND NOT attisdropped ORDER BY attnum",
                    (table,),
                )
            ]
            shifted = {
                "id": f"id + {k * ID_STRIDE}",
                "feature_id": f"feature_id + {k * ID_STRIDE}" if key == "feature_id" else "feature_id",
                "geom": f"ST_Translate(geom, 0, {dy})",
                "county": f"'{code}'",
            }
            conn.execute(f"CREATE TABLE {part} (LIKE {table} INCLUDING DEFAULTS)")
            conn.execute(f"ALTER TABLE {part} ADD CHECK (county IS NOT NULL AND county = '{code}')")
            conn.execute(
                f"INSERT INTO {part} ({', '.join(columns)}) "
                f"SELECT {', '.join(shifted.get(c, c) for c in columns)} FROM {source}"
            )
            # ATTACH builds the parent's indexes on the filled table in one go each
            conn.execute(f"ALTER TABLE {table} ATTACH PARTITION {part} FOR VALUES IN ('{code}')")
            conn.execute(f"ANALYZE {part}")
        conn.commit()
    return code


def ogr2ogr(cluster, path: Path) -> float:  # type: ignore[no-untyped-def]
    """Load the parcels with ogr2ogr into a table of its own, with the same indexes and statistics; return seconds."""
    t = time.perf_counter()
    pg = f"PG:host=127.0.0.1 port={cluster.port} dbname={cluster.db_name} user=landwindow"
    subprocess.run(
        ["ogr2ogr", "-f", "PostgreSQL", pg, str(path), "parcels", "-nln", "ogr_parcels", "-overwrite"]
        + ["-nlt", "MULTIPOLYGON", "-t_srs", "EPSG:4490", "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST"]
        + ["--config", "PG_USE_COPY", "YES"],
        check=True,
        env={**os.environ, "PGPASSWORD": cluster.password()},
    )
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE INDEX ON ogr_parcels (parcel_no)")
        conn.execute("CREATE INDEX ON ogr_parcels (household_id)")
        conn.execute("ANALYZE ogr_parcels")
        conn.execute("DROP TABLE ogr_parcels")
    return time.perf_counter() - t


def checks(url: str, anchors: dict, runs: int) -> dict[str, tuple[float, float]]:
    """Return p50/p95 seconds of the homestead and the 50 ha requisition check through the API."""
    out = {}
    with landwindow_server(url, free_port()) as base, httpx.Client(base_url=base, timeout=60) as client:
        token = client.post("/api/v1/auth/token", data={"username": "clerk", "password": "bench-pass-1"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for kind, anchor in (("homestead", "homestead_clean"), ("requisition", "requisition_50ha")):
            geojson = json.dumps(anchors[anchor]["geojson"])
            times = []
            for i in range(runs + 5):
                t = time.perf_counter()
                r = client.post("/api/v1/checks", data={"kind": kind, "geojson": geojson}, headers=headers)
                assert r.status_code == 200, r.text
                if i >= 5:  # warm-up
                    times.append(time.perf_counter() - t)
            out[kind] = percentiles(times)
    return out


def tiles(url: str, points: list, passes: int) -> None:
    """Print ours (uncached) against tipg on the parcels at z14–z16."""
    tipg = tipg_python()
    env = {
        "DATABASE_URL": url,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.parcels"]',
        "TIPG_TILE_BUFFER": str(BUFFER),
        "TIPG_MAX_FEATURES_PER_TILE": str(LIMIT),
        "TIPG_DB_SPATIAL_EXTENT": "false",
        "TIPG_DB_DATETIME_EXTENT": "false",
    }
    port = free_port()
    command = [str(tipg), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1", "--port", str(port)]
    props = ",".join(layer("parcels").public_columns)
    with (
        landwindow_server(url, free_port(), tile_cache_mb="0", access_log="false") as ours_base,
        server_process([*command, "--log-level", "warning"], env, "/healthz", port) as tipg_base,
        httpx.Client(headers={"Accept-Encoding": "identity"}, timeout=60) as client,
    ):
        for z in (14, 15, 16):
            where = [tile_of(lon, lat, z) for lon, lat in points]
            urls = (
                [f"{ours_base}/tiles/parcels/{z}/{x}/{y}.pbf" for _, x, y in where],
                [f"{tipg_base}/collections/public.parcels/tiles/WebMercatorQuad/{z}/{x}/{y}" for _, x, y in where],
            )
            counts = [0, 0]
            for mine, theirs in zip(*urls, strict=True):  # warm-up; the features each side puts in (clipping at
                # the buffer's edge differs by a feature now and then, as in bench/tiles.py)
                a, b = client.get(mine), client.get(theirs, params={"properties": props, "limit": LIMIT})
                assert a.status_code in (200, 204) and b.status_code in (200, 204), (a.text, b.text)
                counts[0] += len(ids(a))
                counts[1] += len(ids(b))
            times: tuple[list[float], list[float]] = ([], [])
            for _ in range(passes):
                for mine, theirs in zip(*urls, strict=True):
                    t = time.perf_counter()
                    client.get(mine)
                    times[0].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    client.get(theirs, params={"properties": props, "limit": LIMIT})
                    times[1].append(time.perf_counter() - t)
            (o50, o95), (t50, t95) = percentiles(times[0]), percentiles(times[1])
            print(
                f"  tiles z{z}: ours p50 {o50 * 1000:5.1f} ms p95 {o95 * 1000:5.1f} ms | tipg p50 {t50 * 1000:5.1f} ms "
                f"p95 {t95 * 1000:5.1f} ms | ratio p50 {o50 / t50:.2f} (target ≤ 0.5) | features {counts[0]}/{counts[1]}",
                flush=True,
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counties", type=int, default=10)
    p.add_argument("--parcels", type=int, default=1_000_000, help="parcels per county")
    p.add_argument("--runs", type=int, default=50, help="checks per kind and scale")
    p.add_argument("--tiles", type=int, default=40, help="tiles per zoom")
    p.add_argument("--passes", type=int, default=2)
    a = p.parse_args()
    path = county(a.parcels)
    anchors = json.loads((DATA / "anchors_bench.json").read_text("utf-8"))
    print(f"province benchmark {time.strftime('%Y-%m-%d')}: {a.counties} counties × {a.parcels:,} parcels", flush=True)
    with bench_cluster() as cluster:
        url = cluster.url()
        with psycopg.connect(url) as conn:
            t = time.perf_counter()
            parcels = load(conn, read(path, "parcels"), county=str(FIRST))
            first_import = time.perf_counter() - t
            for name in catalog():
                if name != "parcels":
                    load(conn, read(path, name), county=str(FIRST))
            conn.execute(
                "INSERT INTO users (username, role, password_hash) VALUES ('clerk', 'clerk', %s)",
                (hash_secret("bench-pass-1"),),
            )
            conn.commit()
        n = parcels.loaded
        ogr = ogr2ogr(cluster, path)
        print(f"(a) import of {n:,} parcels, 1 county : ours {first_import:6.1f} s ({n / first_import:,.0f}/s)")
        print(f"    ogr2ogr, same indexes and ANALYZE: {ogr:6.1f} s ({n / ogr:,.0f}/s)", flush=True)
        one = checks(url, anchors, a.runs)
        for kind, (p50, p95) in one.items():
            print(f"(b) check {kind:11} at 1 county : p50 {p50 * 1000:6.1f} ms p95 {p95 * 1000:6.1f} ms", flush=True)

        t = time.perf_counter()
        with psycopg.connect(url) as conn:
            for k in range(1, a.counties):
                fill_county(conn, k)
            total = conn.execute("SELECT count(*) FROM parcels").fetchone()[0]  # type: ignore[index]
            by_county = conn.execute("SELECT count(DISTINCT county) FROM parcels").fetchone()[0]  # type: ignore[index]
        print(
            f"    filled counties 2..{a.counties} in {time.perf_counter() - t:.0f} s: {total:,} parcels in {by_county}"
        )
        with psycopg.connect(url) as conn:
            t = time.perf_counter()
            load(conn, read(path, "parcels"), county=str(FIRST))
            again = time.perf_counter() - t
        print(
            f"(a) import of {n:,} parcels into 1 of {a.counties} counties ({total:,} parcels): ours {again:6.1f} s "
            f"({n / again:,.0f}/s); ratio to ogr2ogr {again / ogr:.2f}, to the 1-county import {again / first_import:.2f}",
            flush=True,
        )
        many = checks(url, anchors, a.runs)
        for kind, (p50, p95) in many.items():
            print(
                f"(b) check {kind:11} at {a.counties} counties: p50 {p50 * 1000:6.1f} ms p95 {p95 * 1000:6.1f} ms | "
                f"growth {a.counties} / 1 county: p50 × {p50 / one[kind][0]:.2f}, p95 × {p95 / one[kind][1]:.2f}",
                flush=True,
            )
        with psycopg.connect(url) as conn:
            step = max(1, n // a.tiles)
            points = conn.execute(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM parcels "
                "WHERE county = %s AND id %% %s = 0 ORDER BY id) s",
                (str(FIRST), step),
            ).fetchall()[: a.tiles]
        print(f"(c) tiles at {a.counties} counties, {len(points)} per zoom:", flush=True)
        tiles(url, points, a.passes)


if __name__ == "__main__":
    main()

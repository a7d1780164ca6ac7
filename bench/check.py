"""Check benchmark on the 1M-parcel county: the API vs a naive geopandas check, and recheck of 1,000 open cases.

    .venv/bin/python bench/check.py [--runs 200] [--cases 1000]

(a) one check of a typical homestead and of a typical 50 ha requisition, end to end through POST /api/v1/checks
    (HTTP to `landwindow serve` in its own process, parsing, the SQL, the JSON report), p50/p95 over --runs runs; against a naive check doing
    the same overlaps per request: geopandas.read_postgis(bbox) of each layer + overlay in the GK zone.
(b) `recheck` of --cases open cases after a re-import.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import geopandas as gpd
import httpx
import psycopg
from shapely.geometry import shape
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DATA, bench_cluster, county, landwindow_server, percentiles  # noqa: E402
from gis.catalog import catalog  # noqa: E402
from gis.check.rules import ruleset  # noqa: E402
from gis.crs import epsg_3deg, zone_3deg  # noqa: E402
from gis.importer import load, read  # noqa: E402
from service.access.auth import hash_secret  # noqa: E402
from service.cases.checking import recheck_open_cases  # noqa: E402
from service.core.db import make_engine  # noqa: E402
from web.server import free_port  # noqa: E402


def naive_check(engine, kind: str, geom) -> float:  # type: ignore[no-untyped-def]
    """The same overlaps the hard way: fetch every layer's features in the bbox, overlay in geopandas."""
    zone = epsg_3deg(zone_3deg(geom.centroid.x))
    boundary = gpd.GeoDataFrame({"b": [1]}, geometry=[geom], crs=4490).to_crs(zone)
    minx, miny, maxx, maxy = geom.bounds
    total = 0.0
    for name in dict.fromkeys([*ruleset().layers(kind), "landuse"]):
        sql = f'SELECT * FROM "{name}" WHERE geom && ST_MakeEnvelope({minx}, {miny}, {maxx}, {maxy}, 4490)'
        feats = gpd.read_postgis(sql, engine, geom_col="geom")
        if len(feats):
            over = gpd.overlay(boundary, feats.to_crs(zone), how="intersection", keep_geom_type=True)
            total += float(over.area.sum())
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--cases", type=int, default=1000)
    a = p.parse_args()
    path = county(1_000_000)
    anchors = json.loads((DATA / "anchors_bench.json").read_text("utf-8"))
    with bench_cluster() as cluster:
        url = cluster.url()
        t = time.perf_counter()
        with psycopg.connect(url) as conn:
            for name in catalog():
                load(conn, read(path, name))
            conn.execute(
                "INSERT INTO users (username, role, password_hash) VALUES ('clerk', 'clerk', %s)",
                (hash_secret("bench-pass-1"),),
            )
            conn.commit()
        print(f"loaded the 1M county in {time.perf_counter() - t:.0f} s")
        engine = make_engine(url)  # the service's engine (orjson for the stored reports)
        with landwindow_server(url, free_port()) as base, httpx.Client(base_url=base, timeout=60) as client:
            token = client.post("/api/v1/auth/token", data={"username": "clerk", "password": "bench-pass-1"}).json()[
                "access_token"
            ]
            headers = {"Authorization": f"Bearer {token}"}
            for label, kind, anchor in (
                ("homestead", "homestead", "homestead_clean"),
                ("50 ha requisition", "requisition", "requisition_50ha"),
            ):
                geojson = json.dumps(anchors[anchor]["geojson"])
                ours, naive = [], []
                for i in range(a.runs + 5):
                    t = time.perf_counter()
                    r = client.post("/api/v1/checks", data={"kind": kind, "geojson": geojson}, headers=headers)
                    if i >= 5:  # warm-up
                        ours.append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text
                area = r.json()["area_m2"]
                geom = shape(anchors[anchor]["geojson"])
                for i in range(a.runs + 2):
                    t = time.perf_counter()
                    naive_check(engine, kind, geom)
                    if i >= 2:
                        naive.append(time.perf_counter() - t)
                o50, o95 = percentiles(ours)
                n50, n95 = percentiles(naive)
                print(
                    f"{label:18} ({area:,.0f} m²): API p50 {o50 * 1000:6.1f} ms p95 {o95 * 1000:6.1f} ms | "
                    f"naive geopandas p50 {n50 * 1000:6.1f} ms p95 {n95 * 1000:6.1f} ms | ratio p50 {o50 / n50:.3f} (target ≤ 0.2)"
                )
        # (b) recheck of open cases: homestead plots in village boundaries all over the county
        with psycopg.connect(url) as conn:
            conn.execute(
                """
                INSERT INTO cases (case_no, kind, status, applicant_name, query_code_hash, geom, area_m2, boundary_source)
                SELECT 'XA-2026-ZJ-' || lpad(n::text, 6, '0'), 'homestead', 'received', '测试申请人', 'x',
                       ST_Multi(ST_Transform(ST_Expand(ST_Transform(ST_PointOnSurface(v.geom), 4526), 6), 4490)), 144, '{}'
                  FROM (SELECT geom, row_number() OVER (ORDER BY id) AS n FROM village_boundary ORDER BY id LIMIT %s) v
                """,
                (a.cases,),
            )
            conn.commit()
        with Session(engine) as session:
            t = time.perf_counter()
            recheck_open_cases(session, "bench")
            session.commit()
            first = time.perf_counter() - t
        with psycopg.connect(url) as conn:
            load(conn, read(path, "basic_farmland"))
        with Session(engine) as session:
            t = time.perf_counter()
            total, changes = recheck_open_cases(session, "bench")
            session.commit()
            second = time.perf_counter() - t
        print(
            f"recheck of {total} open cases: {second:.2f} s after a re-import of basic_farmland "
            f"(first check of all {first:.2f} s), {len(changes)} verdicts changed (target ≤ 2 s)"
        )
        engine.dispose()


if __name__ == "__main__":
    main()

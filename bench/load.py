"""Load test: 50 window clerks for 60 s against `landwindow serve` on loopback (locust, headless).

    .venv/bin/python bench/load.py [--users 50] [--time 60] [--workers 2] [--county PATH]

Its own PostGIS cluster (production settings) with the sample county (or --county, e.g. bench/data/county_1000k.gpkg
with --anchors bench/data/anchors_bench.json), the demo staff and --seed-cases cases taken in through the API; the
server in its own process(es) (uvicorn workers, each with its own pool and tile cache); then locust's users from
bench/locustfile.py: case list 4, case page 3, map view (12 tiles) 4, check 2, intake 1, with a think time of
2–5 s between actions (--think). Passes (exit 0) with zero failed requests and an overall p95 under 300 ms.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, server_process  # noqa: E402
from service.core.cluster import EmbeddedCluster  # noqa: E402

SAMPLE = ROOT / "sample_parcels" / "county.gpkg"
SAMPLE_ANCHORS = ROOT / "sample_parcels" / "anchors.json"
P95_TARGET_MS = 300.0
console = Console()


def prepare(cluster: EmbeddedCluster, county: Path) -> None:
    """Migrate, load every layer of the county and create the demo staff."""
    from sqlalchemy.orm import Session

    from gis.catalog import catalog
    from gis.importer import load, read
    from service.access.auth import ensure_demo_users
    from service.core.db import make_engine, migrate

    url = cluster.url()
    migrate(url)
    with psycopg.connect(url) as conn:
        for name in catalog():
            t = time.perf_counter()
            r = load(conn, read(county, name))
            console.print(f"  {name}: {r.feature_count:,} features ({time.perf_counter() - t:.1f} s)")
    engine = make_engine(url, pool_size=1)
    with Session(engine) as session:
        ensure_demo_users(session)
        session.commit()
    engine.dispose()


def seed_cases(base: str, password: str, anchors: dict, n: int) -> None:
    """Take in n cases through the API (homesteads and requisitions) so lists and case pages have content."""
    token = httpx.post(base + "/api/v1/auth/token", data={"username": "clerk", "password": password}, timeout=30).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    home = {"type": "Feature", "properties": {}, "geometry": anchors["homestead_clean"]["geojson"]}
    req = {"type": "Feature", "properties": {}, "geometry": anchors["requisition_50ha"]["geojson"]}

    def one(i: int) -> None:
        if i % 4 == 3:
            body = {
                "kind": "requisition",
                "applicant_name": f"项目单位{i}",
                "applicant_type": "unit",
                "project_name": f"压测项目{i}",
                "boundary": req,
            }
        else:
            body = {
                "kind": "homestead",
                "applicant_name": f"村民{i}",
                "phone": "13800138000",
                "household_id": f"SEED-{i}",
                "materials_received": ["application_form"],
                "boundary": home,
            }
        r = client.post("/api/v1/cases", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
        r.raise_for_status()
        progress.advance(task)

    with (
        httpx.Client(base_url=base, timeout=60) as client,
        Progress(
            TextColumn("[bold]seed cases"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress,
    ):
        task = progress.add_task("seed", total=n)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, range(n)))


def read_stats(prefix: Path) -> list[dict[str, str]]:
    """Return locust's per-request rows (and the Aggregated one) from its CSV."""
    with open(f"{prefix}_stats.csv", newline="") as f:
        return list(csv.DictReader(f))


def main() -> int:
    """Set up, run locust headless, print the figures; exit 1 on any failed request or p95 over target."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--spawn-rate", type=float, default=10)
    ap.add_argument("--time", type=int, default=60, help="seconds of load")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--county", type=Path, default=SAMPLE)
    ap.add_argument("--anchors", type=Path, default=SAMPLE_ANCHORS)
    ap.add_argument("--seed-cases", type=int, default=200)
    ap.add_argument("--think", type=float, nargs=2, default=(2.0, 5.0), metavar=("MIN", "MAX"))
    ap.add_argument("--db-port", type=int, default=25466)
    ap.add_argument("--app-port", type=int, default=25467)
    args = ap.parse_args()

    from service.access.auth import demo_users

    password = next(u for u in demo_users() if u["username"] == "clerk")["password"]
    anchors = json.loads(args.anchors.read_text())
    root = Path(tempfile.mkdtemp(prefix="landwindow-load-", dir="/tmp"))
    root.chmod(0o755)
    cluster = EmbeddedCluster(root=root, port=args.db_port, db_name="load")
    try:
        console.print(f"cluster on 127.0.0.1:{args.db_port}, county {args.county.name}")
        cluster.start()
        prepare(cluster, args.county)
        env = {
            "LANDWINDOW_DATABASE_URL": cluster.url(),
            "LANDWINDOW_SECRET_KEY": "l" * 32,
            "LANDWINDOW_DATA_DIR": str(root),
        }
        uvicorn = ROOT / ".venv" / "bin" / "uvicorn"
        cmd = [
            str(uvicorn),
            "web.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(args.app_port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
            "--no-access-log",
            # uvicorn closes idle connections after 5 s; a clerk thinking 5 s then races the close
            # (RemoteDisconnected). A deployment behind a proxy keeps them longer, as here.
            "--timeout-keep-alive",
            "30",
        ]
        with server_process(cmd, env, "/healthz", args.app_port) as base:
            seed_cases(base, password, anchors, args.seed_cases)
            prefix = root / "locust"
            console.print(
                f"locust: {args.users} users, spawn {args.spawn_rate}/s, {args.time} s, think "
                f"{args.think[0]}–{args.think[1]} s, {args.workers} server workers"
            )
            locust_env = {
                **os.environ,
                "LOAD_PASSWORD": password,
                "LOAD_ANCHORS": str(args.anchors),
                "LOAD_THINK_MIN": str(args.think[0]),
                "LOAD_THINK_MAX": str(args.think[1]),
            }
            proc = subprocess.run(
                [
                    str(ROOT / ".venv" / "bin" / "locust"),
                    "-f",
                    str(ROOT / "bench" / "locustfile.py"),
                    "--headless",
                    "-u",
                    str(args.users),
                    "-r",
                    str(args.spawn_rate),
                    "-t",
                    f"{args.time}s",
                    "--host",
                    base,
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--stop-timeout",
                    "10",
                    "--loglevel",
                    "WARNING",
                ],
                env=locust_env,
                capture_output=True,
                text=True,
            )
            if proc.returncode not in (0, 1):  # 1: some requests failed, reported below
                console.print(proc.stderr[-3000:])
                return 2
        rows = read_stats(prefix)
        failed = Path(f"{prefix}_failures.csv")
        failures_text = failed.read_text() if failed.exists() else ""
    finally:
        cluster.destroy()
        import shutil

        shutil.rmtree(root, ignore_errors=True)

    table = Table(
        "request",
        "count",
        "failures",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "req/s",
        title=f"负载测试 Load test: {args.users} users, {args.time} s, {args.county.name}",
    )
    for r in rows:
        table.add_row(
            r["Name"] if r["Name"] != "Aggregated" else "[bold]all[/]",
            r["Request Count"],
            r["Failure Count"],
            r["50%"],
            r["95%"],
            r["99%"],
            f"{float(r['Max Response Time']):.0f}",
            f"{float(r['Requests/s']):.1f}",
        )
    console.print(table)
    total = next(r for r in rows if r["Name"] == "Aggregated")
    failures, p95 = int(total["Failure Count"]), float(total["95%"])
    ok = failures == 0 and p95 < P95_TARGET_MS
    verdict = "[bold green]pass[/]" if ok else "[bold red]FAIL[/]"
    console.print(
        f"{verdict}: {total['Request Count']} requests, {failures} failed, p95 {p95:.0f} ms (target < {P95_TARGET_MS:.0f} ms)"
    )
    if failures:
        console.print(failures_text[-2000:], highlight=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

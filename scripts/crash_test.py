#!/usr/bin/env python
"""Crash safety: SIGKILL the server mid-intake and the database mid-import, then check nothing half-done survives.

1. Its own embedded cluster (production settings, fsync on) with the sample county and the demo staff, and
   `landwindow serve` in its own process.
2. N concurrent intakes (POST /api/v1/cases, each with its own Idempotency-Key); the server is SIGKILLed once a
   share of them has been acknowledged, restarted, and every unacknowledged intake is sent again with its key.
3. Checks: every acknowledged case exists exactly once (with the id and number the client was told); no case
   without its materials checklist, its check run or its audit entries; case numbers gap-free and duplicate-free
   per kind and year, matching the counters; the audit log's case.create entries match the cases one to one.
4. `landwindow import parcels BIG --replace` is started and the postmaster SIGKILLed in the middle of its COPY;
   after crash recovery the previous parcels version (rows, checksum, indexes, version row) must be intact, and
   a new import must then succeed.

Prints a summary and exits 1 on any violation. Usage: `.venv/bin/python scripts/crash_test.py [--intakes 200]`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402

from service.core.cluster import EmbeddedCluster  # noqa: E402

COUNTY = ROOT / "sample_parcels" / "county.gpkg"
ANCHORS = ROOT / "sample_parcels" / "anchors.json"
LANDWINDOW = ROOT / ".venv" / "bin" / "landwindow"
SECRET = "crash-test-secret-key-0123456789"
console = Console(stderr=True)


@dataclass
class Report:
    """What happened and every violation found."""

    figures: dict[str, object] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def check(self, ok: bool, message: str) -> None:
        """Record a violation when ok is false."""
        if not ok:
            self.violations.append(message)


# -- the environment -------------------------------------------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def crash_cluster(port: int) -> Iterator[EmbeddedCluster]:
    """A throw-away cluster with the production settings (fsync on), migrated, with the sample county and staff."""
    from sqlalchemy.orm import Session

    from gis.catalog import catalog
    from gis.importer import load, read
    from service.access.auth import ensure_demo_users
    from service.core.db import make_engine, migrate

    root = Path(tempfile.mkdtemp(prefix="landwindow-crash-", dir="/tmp"))
    root.chmod(0o755)
    cluster = EmbeddedCluster(root=root, port=port, db_name="crash")
    try:
        cluster.start()
        url = cluster.url()
        migrate(url)
        with psycopg.connect(url) as conn:
            for name in catalog():
                load(conn, read(COUNTY, name))
        engine = make_engine(url, pool_size=1)
        with Session(engine) as session:
            ensure_demo_users(session)
            session.commit()
        engine.dispose()
        yield cluster
    finally:
        try:
            cluster.destroy()
        except Exception:  # the server is gone already: remove its files all the same
            import shutil

            shutil.rmtree(root, ignore_errors=True)


class Server:
    """`landwindow serve` in its own process, which we can SIGKILL and start again."""

    def __init__(self, url: str, port: int, log: Path) -> None:
        self.url, self.port, self.log = url, port, log
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until /healthz answers."""
        env = {
            **os.environ,
            "LANDWINDOW_DATABASE_URL": self.url,
            "LANDWINDOW_SECRET_KEY": SECRET,
            "LANDWINDOW_DATA_DIR": str(self.log.parent),
        }
        cmd = [str(LANDWINDOW), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"landwindow serve exited ({self.proc.returncode}); see {self.log}")
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"landwindow serve did not answer on {self.base}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the server process (no shutdown handlers run)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server gracefully (used at the end)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# -- intakes -----------------------------------------------------------------------------------------------------
def _bodies(n: int, run: str) -> dict[str, dict]:
    anchors = json.loads(ANCHORS.read_text())
    home = {"type": "Feature", "properties": {}, "geometry": anchors["homestead_clean"]["geojson"]}
    req = {"type": "Feature", "properties": {}, "geometry": anchors["requisition_50ha"]["geojson"]}
    out = {}
    for i in range(n):
        if i % 5 == 4:
            body = {
                "kind": "requisition",
                "applicant_name": f"项目单位{i}",
                "applicant_type": "unit",
                "project_name": f"崩溃测试项目{i}",
                "industry": "制造业",
                "boundary": req,
                "materials_received": [],
            }
        else:
            body = {
                "kind": "homestead",
                "applicant_name": f"村民{i}",
                "phone": "13800138000",
                "village": anchors["homestead_clean"].get("village"),
                "household_id": f"CRASH-{i}",
                "materials_received": ["application_form", "id_card"],
                "boundary": home,
            }
        out[f"{run}-{i:04d}"] = body
    return out


def _token(base: str) -> str:
    from service.access.auth import demo_users

    clerk = next(u for u in demo_users() if u["username"] == "clerk")
    r = httpx.post(base + "/api/v1/auth/token", data={"username": "clerk", "password": clerk["password"]}, timeout=30)
    r.raise_for_status()
    return str(r.json()["access_token"])


def _send_all(
    server: Server, token: str, bodies: dict[str, dict], workers: int, kill_after: int | None, progress: Progress
) -> tuple[dict[str, dict], Counter[str]]:
    """Send every intake concurrently; SIGKILL the server after kill_after acknowledgements; return the acks."""
    acked: dict[str, dict] = {}
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    task = progress.add_task("intakes" if kill_after else "retries", total=len(bodies))
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with httpx.Client(
        base_url=server.base, timeout=60, limits=limits, headers={"Authorization": f"Bearer {token}"}
    ) as client:

        def one(key: str) -> None:
            try:
                r = client.post("/api/v1/cases", json=bodies[key], headers={"Idempotency-Key": key})
            except httpx.HTTPError as exc:
                with lock:
                    outcomes[type(exc).__name__] += 1
                    progress.advance(task)
                return
            with lock:
                outcomes[str(r.status_code)] += 1
                if r.status_code in (200, 201):
                    acked[key] = {"status": r.status_code, "id": r.json()["id"], "case_no": r.json()["case_no"]}
                    if kill_after is not None and len(acked) == kill_after:
                        server.kill()
                progress.advance(task)

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, list(bodies)))
    return acked, outcomes


def intake_phase(cluster: EmbeddedCluster, app_port: int, n: int, report: Report, workdir: Path) -> None:
    """Concurrent intakes, a SIGKILL of the server mid-way, a restart, retries with the same keys; then checks."""
    from service.cases.workflow import workflow

    url = cluster.url()
    server = Server(url, app_port, workdir / "server.log")
    bodies = _bodies(n, "crash")
    kill_after = max(1, int(n * 0.4))
    try:
        server.start()
        token = _token(server.base)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            t = time.perf_counter()
            acked, outcomes = _send_all(server, token, bodies, 32, kill_after, progress)
            first_round = time.perf_counter() - t
            report.check(
                server.proc is not None and server.proc.returncode == -signal.SIGKILL,
                "the server was not SIGKILLed during the intakes (too few acknowledged?)",
            )
            report.figures["acknowledged before the kill"] = len(acked)
            report.figures["first round outcomes"] = dict(outcomes)
            committed_unacked = _committed_keys(url, set(bodies) - set(acked))
            report.figures["committed but not acknowledged at the kill"] = len(committed_unacked)
            server.start()
            retried: dict[str, dict] = {}
            for _ in range(5):
                missing = {k: bodies[k] for k in bodies if k not in acked and k not in retried}
                if not missing:
                    break
                got, retry_outcomes = _send_all(server, token, missing, 16, None, progress)
                retried.update(got)
            report.figures["retried"] = len(set(bodies) - set(acked))
            report.figures["retries answered 200 (replayed an intake committed before the kill)"] = sum(
                1 for v in retried.values() if v["status"] == 200
            )
            report.figures["first round seconds"] = round(first_round, 2)
    finally:
        server.stop()
    for key in committed_unacked:
        report.check(
            retried.get(key, {}).get("status") == 200,
            f"{key}: committed before the kill but its retry was not answered as a replay (200)",
        )
    report.check(len(acked) + len(retried) == n, f"only {len(acked) + len(retried)} of {n} intakes acknowledged")
    told = {**acked, **retried}
    materials = {kind: len(ms) for kind, ms in workflow().materials.items()}
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT idempotency_key, count(*), min(id), min(case_no) FROM cases GROUP BY 1").fetchall()
        by_key = {r[0]: r for r in rows}
        for key, ack in told.items():
            row = by_key.get(key)
            report.check(row is not None, f"{key}: acknowledged ({ack['case_no']}) but no case in the database")
            if row is not None:
                report.check(row[1] == 1, f"{key}: {row[1]} cases for one key")
                report.check(
                    (row[2], row[3]) == (ack["id"], ack["case_no"]),
                    f"{key}: told {ack['case_no']} (id {ack['id']}), stored {row[3]} (id {row[2]})",
                )
        stray = set(by_key) - set(told)
        report.check(not stray, f"{len(stray)} cases nobody was told about: {sorted(map(str, stray))[:5]}")
        total = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        report.figures["cases in the database"] = total
        report.check(total == n, f"{total} cases in the database for {n} intakes")
        # no half-written case: the checklist, one check run (the latest), and the intake's audit entries
        half = conn.execute(
            """
            SELECT c.case_no, c.kind,
                   (SELECT count(*) FROM case_materials m WHERE m.case_id = c.id) AS materials,
                   (SELECT count(*) FROM check_runs r WHERE r.case_id = c.id) AS runs,
                   (SELECT count(*) FROM check_runs r WHERE r.id = c.latest_check_id AND r.case_id = c.id) AS latest,
                   (SELECT count(*) FROM audit_log a WHERE a.case_id = c.id AND a.action = 'case.create') AS created,
                   (SELECT count(*) FROM audit_log a WHERE a.case_id = c.id AND a.action = 'case.boundary') AS boundary,
                   (SELECT count(*) FROM audit_log a WHERE a.case_id = c.id AND a.action = 'check.run') AS checked,
                   c.geom IS NOT NULL AND c.statutory_due IS NOT NULL AND c.promised_due IS NOT NULL AS complete
              FROM cases c
            """
        ).fetchall()
        for case_no, kind, n_mat, runs, latest, created, boundary, checked, complete in half:
            ok = (n_mat, runs, latest, created, boundary, checked, complete) == (materials[kind], 1, 1, 1, 1, 1, True)
            report.check(
                ok,
                f"{case_no}: half-written (materials {n_mat}/{materials[kind]}, check runs {runs}, latest "
                f"{latest}, audit create/boundary/check {created}/{boundary}/{checked}, complete {complete})",
            )
        # case numbers: gap-free, duplicate-free, and the counters agree
        numbers = conn.execute("SELECT kind, case_no FROM cases ORDER BY case_no").fetchall()
        seqs: dict[tuple[str, str], list[int]] = {}
        for kind, case_no in numbers:
            parts = case_no.split("-")
            seqs.setdefault((kind, parts[1]), []).append(int(parts[-1]))
        counters = {(k, str(y)): last for k, y, last in conn.execute("SELECT kind, year, last FROM case_counters")}
        for (kind, year), s in seqs.items():
            report.check(
                sorted(s) == list(range(1, len(s) + 1)),
                f"{kind} {year}: numbers not 1..{len(s)} without gaps: "
                f"missing {sorted(set(range(1, max(s) + 1)) - set(s))[:10]}, duplicates "
                f"{[x for x, c in Counter(s).items() if c > 1][:10]}",
            )
            report.check(
                counters.get((kind, year)) == len(s),
                f"{kind} {year}: counter at {counters.get((kind, year))}, {len(s)} cases",
            )
        report.figures["case numbers"] = {f"{k} {y}": f"1..{len(s)}" for (k, y), s in seqs.items()}
        # the audit log matches the cases: one case.create per case, naming its number, none for a missing case
        audit = conn.execute(
            "SELECT a.case_id, a.after->>'case_no', c.case_no FROM audit_log a LEFT JOIN cases c ON c.id = a.case_id "
            "WHERE a.action = 'case.create'"
        ).fetchall()
        report.check(len(audit) == total, f"{len(audit)} case.create audit entries for {total} cases")
        for case_id, logged, actual in audit:
            report.check(
                actual is not None and logged == actual,
                f"audit case.create for case {case_id} names {logged}, the case is {actual}",
            )
        orphans = conn.execute(
            "SELECT count(*) FROM audit_log a WHERE a.case_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM cases c WHERE c.id = a.case_id)"
        ).fetchone()[0]
        report.check(orphans == 0, f"{orphans} audit entries for cases that do not exist")


def _committed_keys(url: str, keys: set[str]) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT idempotency_key FROM cases WHERE idempotency_key = ANY(%s)", (list(keys),))
        return {str(r[0]) for r in rows}


# -- the database killed mid-import -------------------------------------------------------------------------------
def _big_parcels(path: Path, copies: int) -> int:
    """Write the sample county's parcels `copies` times over into one GeoPackage layer; return the feature count."""
    import geopandas as gpd
    import pandas as pd

    parcels = gpd.read_file(COUNTY, layer="parcels")
    big = gpd.GeoDataFrame(pd.concat([parcels] * copies, ignore_index=True), crs=parcels.crs)
    big.to_file(path, layer="parcels", driver="GPKG")
    return len(big)


def _layer_state(url: str) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        return {
            "version": conn.execute(
                "SELECT version, feature_count FROM layer_versions WHERE layer = 'parcels'"
            ).fetchone(),
            "loads": conn.execute("SELECT count(*) FROM layer_loads WHERE layer = 'parcels'").fetchone()[0],
            "rows": conn.execute("SELECT count(*) FROM parcels").fetchone()[0],
            "checksum": conn.execute("SELECT md5(string_agg(p::text, E'\\n' ORDER BY p.id)) FROM parcels p").fetchone()[
                0
            ],
            "indexes": sorted(
                r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'parcels'")
            ),
            "invalid_indexes": conn.execute(
                "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                "WHERE c.relname = 'parcels' AND NOT i.indisvalid"
            ).fetchone()[0],
            "index_scan": conn.execute(
                "SELECT count(*) FROM parcels WHERE geom && (SELECT ST_Envelope(geom) FROM parcels ORDER BY id LIMIT 1)"
            ).fetchone()[0],
        }


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def become_subreaper() -> None:
    """Adopt orphaned descendants (the daemonised postmaster) so a killed one can be reaped, not left a zombie.

    pg_ctl stop/start decide "running" by the pid in postmaster.pid; a zombie postmaster under a PID 1 that never
    reaps (as in some containers) would look alive forever.
    """
    import ctypes

    pr_set_child_subreaper = 36
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def _reap(pids: list[int]) -> None:
    for p in pids:
        try:
            os.waitpid(p, os.WNOHANG)
        except ChildProcessError:
            pass  # not ours (no subreaper): init reaps it


def kill_postmaster(cluster: EmbeddedCluster) -> dict[str, object]:
    """SIGKILL the postmaster; give its children 10 s to notice and exit, then SIGKILL any left (by pid)."""
    pid = int((cluster.pgdata / "postmaster.pid").read_text().split()[0])
    children = _children(pid)
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(c) for c in [pid, *children]):
        _reap([pid, *children])
        time.sleep(0.05)
    left = [c for c in children if _alive(c)]
    for c in left:
        os.kill(c, signal.SIGKILL)
    time.sleep(0.2)
    _reap([pid, *children])
    return {
        "postmaster": pid,
        "children": len(children),
        "children SIGKILLed after 10 s": len(left),
        "postmaster reaped": not _alive(pid),
    }


def import_phase(cluster: EmbeddedCluster, report: Report, workdir: Path, copies: int) -> None:
    """Kill the database in the middle of `landwindow import parcels --replace`; the old version must survive."""
    url = cluster.url()
    before = _layer_state(url)
    env = {**os.environ, "LANDWINDOW_DATABASE_URL": url}
    for attempt in range(4):
        big = workdir / f"parcels_x{copies}.gpkg"
        features = _big_parcels(big, copies)
        proc = subprocess.Popen(
            [str(LANDWINDOW), "import", "parcels", str(big), "--replace"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        killed_at = None
        with psycopg.connect(url, autocommit=True) as watch:
            while proc.poll() is None:
                # a --replace copies into a fresh table (parcels_c<county>_load), created in the import's own
                # transaction and so not yet visible here by name: the import's is the only COPY in this database
                row = watch.execute(
                    "SELECT max(tuples_processed) FROM pg_stat_progress_copy WHERE datname = current_database()"
                ).fetchone()
                if row and row[0] is not None and row[0] >= features // 3:
                    killed_at = int(row[0])
                    break
                time.sleep(0.002)
            if killed_at is not None:
                report.figures["postgres killed"] = kill_postmaster(cluster)
        if killed_at is not None:
            break
        proc.wait()
        copies *= 2  # the import was quicker than the watcher: try a bigger file
        report.check(attempt < 3, "could not catch the import in the middle of its COPY")
    _, stderr = proc.communicate(timeout=60)
    report.figures["import killed at"] = f"{killed_at} of {features} features copied"
    report.figures["import exit code"] = proc.returncode
    report.check(proc.returncode != 0, "the import reported success although the database died under it")
    t = time.perf_counter()
    cluster.start()
    report.figures["restart with crash recovery"] = f"{time.perf_counter() - t:.1f} s"
    after = _layer_state(url)
    for k in before:
        report.check(after[k] == before[k], f"parcels after the crash: {k} is {after[k]!r}, was {before[k]!r}")
    report.figures["parcels after recovery"] = (
        f"version {after['version']}, {after['rows']} rows, checksum equal: {after['checksum'] == before['checksum']}"
    )
    done = subprocess.run(
        [str(LANDWINDOW), "import", "parcels", str(COUNTY), "--replace"], env=env, capture_output=True, text=True
    )
    report.check(done.returncode == 0, f"a new import after recovery failed: {done.stderr[-500:]}")
    again = _layer_state(url)
    report.check(
        again["version"] == (before["version"][0] + 1, before["rows"]),  # type: ignore[index]
        f"the import after recovery left {again['version']}",
    )


def run(intakes: int = 200, db_port: int | None = None, app_port: int | None = None, copies: int = 20) -> Report:
    """Run both phases on a private cluster and server; return the report."""
    become_subreaper()
    report = Report()
    workdir = Path(tempfile.mkdtemp(prefix="landwindow-crash-work-", dir="/tmp"))
    try:
        t = time.perf_counter()
        with crash_cluster(db_port or _free_port()) as cluster:
            report.figures["setup seconds"] = round(time.perf_counter() - t, 1)
            intake_phase(cluster, app_port or _free_port(), intakes, report, workdir)
            import_phase(cluster, report, workdir, copies)
    finally:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return report


def main() -> int:
    """Command line: run, print the summary, exit 1 on any violation."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--intakes", type=int, default=200)
    ap.add_argument("--db-port", type=int, default=25461)
    ap.add_argument("--app-port", type=int, default=25462)
    ap.add_argument("--copies", type=int, default=20, help="sample parcels × copies in the import that is killed")
    args = ap.parse_args()
    report = run(args.intakes, args.db_port, args.app_port, args.copies)
    out = Console(width=140)
    out.rule("崩溃测试 Crash test")
    for k, v in report.figures.items():
        out.print(f"{k:>62}: {v}", highlight=False)
    if report.violations:
        out.print(f"[bold red]{len(report.violations)} 项违规 violations:[/]")
        for v in report.violations[:50]:
            out.print(f"  - {v}", highlight=False)
        return 1
    out.print("[bold green]无违规 / no violations[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())

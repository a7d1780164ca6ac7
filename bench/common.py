"""Shared benchmark plumbing: the 1M-parcel county and a private PostGIS cluster for measurements."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from service.core.cluster import EmbeddedCluster
from service.core.db import migrate

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
BENCH_PORT = 25440


def county(parcels: int = 1_000_000) -> Path:
    """Return the generated benchmark county, generating it the first time (seeded: always the same)."""
    path = DATA / f"county_{parcels // 1000}k.gpkg"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} ({parcels} parcels) …", flush=True)
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "sample_parcels" / "generate.py"),
                "--parcels",
                str(parcels),
                "--out",
                str(path),
                "--anchors",
                str(DATA / "anchors_bench.json"),
            ],
            check=True,
        )
        print(f"  generated in {time.perf_counter() - t:.0f} s", flush=True)
    return path


@contextmanager
def bench_cluster(db_name: str = "bench") -> Iterator[EmbeddedCluster]:
    """Start a throw-away PostGIS cluster with the production settings, migrated; removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="landwindow-bench-", dir="/tmp"))
    root.chmod(0o755)
    cluster = EmbeddedCluster(root=root, port=BENCH_PORT, db_name=db_name)
    cluster.start()
    try:
        migrate(cluster.url())
        yield cluster
    finally:
        cluster.destroy()


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Return the wall-clock seconds of `repeat` runs of fn."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def percentiles(samples: list[float]) -> tuple[float, float]:
    """Return (p50, p95) of samples."""
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


@contextmanager
def server_process(command: list[str], env: dict[str, str], health: str, port: int) -> Iterator[str]:
    """Run a web server in its own process (as in production: no GIL shared with the client); yield its base URL."""
    import os

    import httpx

    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                if httpx.get(base + health, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"{command} did not answer on {base}{health}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def landwindow_server(url: str, port: int, **settings: str) -> AbstractContextManager[str]:
    """Run `landwindow serve` on a database URL in its own process (more settings as LANDWINDOW_<NAME>)."""
    env = {"LANDWINDOW_DATABASE_URL": url, "LANDWINDOW_SECRET_KEY": "b" * 32, "LANDWINDOW_DATA_DIR": "/tmp"}
    env.update({f"LANDWINDOW_{k.upper()}": v for k, v in settings.items()})
    cmd = [str(ROOT / ".venv" / "bin" / "landwindow"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return server_process(cmd, env, "/healthz", port)

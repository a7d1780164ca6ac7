"""Shared benchmark plumbing: the 1M-parcel county and a private PostGIS cluster for measurements."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from service.cluster import EmbeddedCluster
from service.db import migrate

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
            [sys.executable, str(ROOT / "sample_parcels" / "generate.py"), "--parcels", str(parcels), "--out", str(path),
             "--anchors", str(DATA / "anchors_bench.json")],
            check=True,
        )  # fmt: skip
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

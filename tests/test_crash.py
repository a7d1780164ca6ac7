"""A short run of scripts/crash_test.py: the server SIGKILLed mid-intake, the database SIGKILLed mid-import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.core.cluster import ClusterError, EmbeddedCluster
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.db
def test_crash_safety_short_run(tmp_path):
    try:
        EmbeddedCluster(root=tmp_path, port=0).check_binaries()
    except ClusterError as exc:
        unavailable(str(exc))
    # its own process: the script adopts the killed postmaster (a child subreaper) to reap it
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "crash_test.py"),
            "--intakes",
            "30",
            "--copies",
            "6",
            "--db-port",
            "0",
            "--app-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "no violations" in proc.stdout
    assert "checksum equal: True" in proc.stdout

"""The long fuzz run (`make fuzz`): the API fuzz and the bad-upload tests with many more examples.

The same tests as in `make test` (tests/test_api_fuzz.py, tests/test_bad_uploads.py), each against its own
throw-away PostGIS cluster, with larger example counts and a seed of your choice:

    .venv/bin/python scripts/fuzz_api.py [--api-examples 60] [--file-examples 1500] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Run both fuzz tests with the given budgets; exit with pytest's status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api-examples", type=int, default=60, help="examples per operation and role (default 60)")
    parser.add_argument("--file-examples", type=int, default=1500, help="mutated sample files (default 1500)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (runs are deterministic per seed)")
    args = parser.parse_args()
    env = {
        **os.environ,
        "LANDWINDOW_FUZZ_API_EXAMPLES": str(args.api_examples),
        "LANDWINDOW_FUZZ_FILE_EXAMPLES": str(args.file_examples),
        "LANDWINDOW_FUZZ_SEED": str(args.seed),
    }
    env.setdefault("LANDWINDOW_TEST_DB_PORT", "25440")
    tests = ["tests/test_api_fuzz.py", "tests/test_bad_uploads.py"]
    started = time.monotonic()
    rc = subprocess.call(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *tests], cwd=ROOT, env=env
    )
    print(
        f"fuzz: {args.api_examples} examples per operation and role, {args.file_examples} mutated files, "
        f"seed {args.seed}: {'passed' if rc == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s"
    )
    return rc


if __name__ == "__main__":
    sys.exit(main())

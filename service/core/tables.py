"""The bureau's own tables under service/data/ (workflow, materials, deadlines, permissions, filing, reports)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def data_path(name: str) -> Path:
    """Return the path of a file in service/data/."""
    return DATA_DIR / name


def read_table(name: str) -> dict[str, Any]:
    """Return a TOML table of service/data/ parsed."""
    return tomllib.loads(data_path(name).read_text("utf-8"))

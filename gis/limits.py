"""What an input may cost before it is refused: expanded zip bytes, nesting, features, points, rings, parse time.

The values are data (gis/data/limits.toml): `upload` bounds what an applicant brings, `layer_import` what an operator
imports.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class ZipLimits:
    """How much a zip may hold and expand to."""

    members: int
    member_bytes: int
    total_bytes: int
    ratio: float
    ratio_from_bytes: int


@dataclass(frozen=True)
class UploadLimits:
    """What a boundary file or drawn polygon an applicant brings may hold and cost."""

    zip: ZipLimits
    json_depth: int
    features: int
    ring_points: int
    parcel_rings: int
    points: int
    errors: int
    lines: int
    line_chars: int
    header_lines: int
    parse_seconds: float
    parse_workers: int
    parse_memory_mb: int


def _zip(raw: dict[str, Any]) -> ZipLimits:
    return ZipLimits(
        members=int(raw["members"]),
        member_bytes=int(raw["member_bytes"]),
        total_bytes=int(raw["total_bytes"]),
        ratio=float(raw["ratio"]),
        ratio_from_bytes=int(raw["ratio_from_bytes"]),
    )


@cache
def _raw() -> dict[str, Any]:
    return tomllib.loads(resources.files("gis").joinpath("data/limits.toml").read_text("utf-8"))


@cache
def upload_limits() -> UploadLimits:
    """Return the limits of a boundary an applicant brings (gis/data/limits.toml, [upload])."""
    raw = _raw()["upload"]
    return UploadLimits(
        zip=_zip(raw["zip"]),
        json_depth=int(raw["json_depth"]),
        features=int(raw["features"]),
        ring_points=int(raw["ring_points"]),
        parcel_rings=int(raw["parcel_rings"]),
        points=int(raw["points"]),
        errors=int(raw["errors"]),
        lines=int(raw["lines"]),
        line_chars=int(raw["line_chars"]),
        header_lines=int(raw["header_lines"]),
        parse_seconds=float(raw["parse_seconds"]),
        parse_workers=int(raw["parse_workers"]),
        parse_memory_mb=int(raw["parse_memory_mb"]),
    )


@cache
def layer_import_zip_limits() -> ZipLimits:
    """Return the zip limits of a layer an operator imports (gis/data/limits.toml, [layer_import.zip])."""
    return _zip(_raw()["layer_import"]["zip"])


def mib(n: float) -> str:
    """Return a byte count as MiB for a message (`32 MiB`)."""
    return f"{n / 1_048_576:g} MiB"

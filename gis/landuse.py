"""GB/T 21010-2017 land-use classes and their legal categories (农用地 / 建设用地 / 未利用地)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

AGRICULTURAL = "农用地"
CONSTRUCTION = "建设用地"
UNUSED = "未利用地"
CULTIVATED_CODES = frozenset({"0101", "0102", "0103"})
"""耕地: paddy, irrigated and dry land."""

_CODE = re.compile(r"^(\d{2}[0-9H]\d)")


@dataclass(frozen=True)
class LandUseClass:
    """One GB/T 21010 class."""

    code: str
    name: str
    parent: str
    category: str

    @property
    def cultivated(self) -> bool:
        """Return whether the class is 耕地 (cultivated land)."""
        return self.code in CULTIVATED_CODES


@cache
def classes() -> dict[str, LandUseClass]:
    """Return the GB/T 21010 table keyed by 4-character code."""
    text = resources.files("gis").joinpath("data/landuse_gbt21010.csv").read_text("utf-8")
    return {
        row["code"]: LandUseClass(row["code"], row["name"], row["parent"], row["category"])
        for row in csv.DictReader(text.splitlines())
    }


@cache
def groups() -> dict[str, tuple[str, str]]:
    """Return the first-level classes (`01` 耕地 …) as {code: (Chinese name, English name)}."""
    text = resources.files("gis").joinpath("data/landuse_groups.csv").read_text("utf-8")
    return {row["code"]: (row["name"], row["name_en"]) for row in csv.DictReader(text.splitlines())}


def normalize_code(code: str | None) -> str | None:
    """Strip survey working suffixes (`0301K` → `0301`, `1104A` → `1104`); None when not a class code."""
    if not code:
        return None
    m = _CODE.match(code.strip().upper())
    return m.group(1) if m else None


def lookup(code: str | None) -> LandUseClass | None:
    """Return the class of a (possibly suffixed) code, or None when unknown."""
    norm = normalize_code(code)
    return classes().get(norm) if norm else None

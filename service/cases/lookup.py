"""Case numbers and query codes as people type them: a phone's auto-capitalised first letter, lower case,
full-width characters, spaces and the dashes of a Chinese keyboard all mean the same number or code."""

from __future__ import annotations

import re
import unicodedata

_DASHES = re.compile(r"[\u2010-\u2015\u2212\u30fc\uff0d_]")  # ‐ ‑ ‒ – — ― − ー － _
_SPACE = re.compile(r"\s+")


def normal_case_no(typed: str) -> str:
    """Return a typed case number as stored: `xa-2026-zj-000001 ` and `ＸＡ－2026－ZJ－000001` → `XA-2026-ZJ-000001`."""
    text = unicodedata.normalize("NFKC", typed or "")
    return _SPACE.sub("", _DASHES.sub("-", text)).upper()


def normal_query_code(typed: str) -> str:
    """Return a typed query code as issued: upper case, without spaces or dashes (`2ugp h8q7` → `2UGPH8Q7`)."""
    text = unicodedata.normalize("NFKC", typed or "")
    return _SPACE.sub("", _DASHES.sub("", text)).replace("-", "").upper()

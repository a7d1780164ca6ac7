"""Interface language: Chinese (zh-CN) by default, English on request; the texts live in web/data/messages.toml."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from fastapi import Request

LANGS = ("zh", "en")
LANG_COOKIE = "lw_lang"


@cache
def messages() -> dict[str, dict[str, str]]:
    """Return {key: {zh, en}} from the messages table."""
    return tomllib.loads((Path(__file__).resolve().parent / "data" / "messages.toml").read_text("utf-8"))


def lang_of(request: Request) -> str:
    """Return the language asked for by ?lang= or the language cookie (Chinese by default)."""
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return lang if lang in LANGS else "zh"


def translator(lang: str):  # type: ignore[no-untyped-def]
    """Return a function translating a message key (the key itself when unknown)."""
    table = messages()

    def t(key: str, **kw: object) -> str:
        text = table.get(key, {}).get(lang) or table.get(key, {}).get("zh") or key
        return text.format(**kw) if kw else text

    return t

"""Interface language: Chinese (zh-CN) by default, English on request; the texts live in web/data/messages.toml."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

from fastapi import Request

from gis.check.rules import KINDS, kind_title
from service.access import permissions
from service.access.auth import Principal
from service.cases.workflow import workflow

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


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def has_cjk(text: str) -> bool:
    """Return whether a text holds Chinese characters or full-width punctuation."""
    return bool(_CJK.search(text))


def in_lang(text: str | None, lang: str) -> str:
    """Return the part of a bilingual message ("中文 / English", as the service words its errors) for the language;
    a message with one language only is returned whole."""
    if not text:
        return ""
    if lang == "en" and " / " in text:
        zh, _, en = text.partition(" / ")
        if has_cjk(zh) and en.strip():
            return en.strip()
    return text


def state_title(state: str, lang: str) -> str:
    """Return a workflow state's title (service/data/workflow.toml) in the language."""
    return workflow().state_title(state, lang)


def transition_title(kind: str, name: str, lang: str) -> str:
    """Return a transition's title of a kind (workflow.toml `title` / `title_en`) in the language."""
    t = workflow().kind(kind).get(name)
    if t is None:
        return name
    return t.title_en or t.title if lang == "en" else t.title


def step_title(kind: str, entry: dict[str, object], lang: str) -> str:
    """Return the title of a timeline entry: a transition's title, or the audit action's from messages.toml."""
    action = str(entry.get("action", ""))
    if action.startswith("transition."):
        return transition_title(kind, action.split(".", 1)[1], lang)
    key = "audit_" + action.replace(".", "_")
    if key in messages():
        return translator(lang)(key)
    return str(entry.get("title") or action)


def material_name(kind: str, code: str, name: str, lang: str) -> str:
    """Return a checklist item's name in the language (materials.toml `name_en`); a case keeps the Chinese name it
    was taken in with, which is also the fallback."""
    if lang != "en":
        return name
    item = next((m for m in workflow().materials.get(kind, ()) if m.code == code), None)
    return item.name_en if item is not None and item.name_en else name


def may(user: Principal | None, action: str) -> bool:
    """Return whether the page's user may do an action (service/data/permissions.toml): what a page offers."""
    return user is not None and permissions.allows(user, action)


TEMPLATE_GLOBALS = {
    "material_name": material_name,
    "in_lang": in_lang,
    "state_title": state_title,
    "transition_title": transition_title,
    "step_title": step_title,
    "kind_title": kind_title,
    "kinds": KINDS,
    "may": may,
}

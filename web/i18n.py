"""Interface language: Chinese (zh-CN) by default, English on request; the texts live in web/data/messages.toml."""

from __future__ import annotations

import json
import re
import tomllib
from functools import cache
from pathlib import Path

from fastapi import Request

from gis.catalog import catalog
from gis.check.rules import KINDS, kind_title
from gis.landuse import classes as landuse_classes
from gis.landuse import groups as landuse_groups
from service.access import permissions
from service.access.auth import Principal
from service.cases.figures import owner_kind_title
from service.cases.figures import rules as figures_rules
from service.cases.workflow import workflow
from service.clocks.local_time import local_day, local_minute

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
    if lang == "en" and (sep := _HALVES.search(text)):
        zh, en = text[: sep.start()], text[sep.end() :]
        if has_cjk(zh) and en.strip():
            return en.strip()
    return text


_HALVES = re.compile(r"(?: |(?<=[）」”。]))/ ")
"""Where a bilingual message's English half starts: " / ", or "/ " right after closing full-width punctuation."""


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


def material_title(kind: str, code: str, lang: str) -> str:
    """Return a checklist item's name by its code (materials.toml) in the language; an unknown code as it is."""
    item = next((m for m in workflow().materials.get(kind, ()) if m.code == code), None)
    if item is None:
        return code
    return item.name_en if lang == "en" and item.name_en else item.name


def role_title(role: str | None, lang: str) -> str:
    """Return a role's title (permissions.toml [roles]) in the language: 窗口受理人员, not `clerk`."""
    if not role:
        return ""
    title = permissions.table().roles.get(role, role)
    zh, sep, en = title.partition(" / ")
    return (en.strip() if lang == "en" else zh.strip()) if sep else title


def verdict_title(verdict: str | None, lang: str) -> str:
    """Return a check's verdict (or a rule's status) as people say it: 通过 / 需说明 / 不予通过."""
    if not verdict:
        return "—"
    return translator(lang)("verdict_" + verdict) if "verdict_" + verdict in messages() else verdict


def actor_label(entry: dict[str, object], lang: str) -> str:
    """Return who took a timeline step: a member of staff by name, else the system, the operator or the applicant."""
    kind = str(entry.get("actor_kind") or "")
    if kind == "staff":
        return str(entry.get("actor_name") or "")
    return translator(lang)("actor_" + kind) if kind else str(entry.get("actor") or "")


def owner_title(kind: str | None, lang: str) -> str:
    """Return an owner kind (集体 / 国有 / 个人) in the language (service/data/figures.toml)."""
    return owner_kind_title(kind, lang)


def number(value: object, digits: int = 2) -> str:
    """Return a figure as a clerk reads it out: thousands separated (`1,234,567.89`); empty for none."""
    if value is None or value == "":
        return ""
    return f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def file_size(size: object) -> str:
    """Return a file's size as people read it: `312 B`, `48.2 KB`, `3.4 MB` (a small file is not `0 KB`)."""
    n = int(size or 0)  # type: ignore[call-overload]
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1048576:.1f} MB"


@cache
def map_fields() -> dict[str, dict[str, dict[str, str]]]:
    """Return the popups' column names and value names (web/data/map_fields.toml)."""
    return tomllib.loads((Path(__file__).resolve().parent / "data" / "map_fields.toml").read_text("utf-8"))


@cache
def map_labels_json(lang: str) -> str:
    """Return, as JSON for the map's popups, the column names, the named code values (owner kinds, land classes)
    and the land-use groups of the legend, in the language (safe inside a <script type="application/json">)."""
    data = map_fields()
    pick = 1 if lang == "en" else 0
    fields = {k: v.get(lang) or v["zh"] for k, v in data["fields"].items()}
    values = {f: {k: v.get(lang) or v["zh"] for k, v in names.items()} for f, names in data.get("values", {}).items()}
    values["owner_kind"] = {k: owner_kind_title(k, lang) for k in figures_rules()["owner_kinds"]}
    landuse = {code: c.name for code, c in landuse_classes().items()}
    landuse.update({code: names[pick] for code, names in landuse_groups().items()})
    body = {"fields": fields, "values": values, "landuse": landuse, "layers": {n: t for n, t in _layer_titles(lang)}}
    return json.dumps(body, ensure_ascii=False).replace("</", "<\\/")


def _layer_titles(lang: str) -> list[tuple[str, str]]:
    return [(n, spec.title_en if lang == "en" else spec.title) for n, spec in catalog().items()]


def may(user: Principal | None, action: str) -> bool:
    """Return whether the page's user may do an action (service/data/permissions.toml): what a page offers."""
    return user is not None and permissions.allows(user, action)


TEMPLATE_GLOBALS = {
    "material_name": material_name,
    "in_lang": in_lang,
    "material_title": material_title,
    "state_title": state_title,
    "transition_title": transition_title,
    "step_title": step_title,
    "kind_title": kind_title,
    "kinds": KINDS,
    "may": may,
    "role_title": role_title,
    "verdict_title": verdict_title,
    "actor_label": actor_label,
    "owner_title": owner_title,
    "map_labels_json": map_labels_json,
}

TEMPLATE_FILTERS = {
    "local_minute": local_minute,
    "local_day": local_day,
    "number": number,
    "file_size": file_size,
}
"""Filters every template may use: Beijing times (service/clocks/local_time.py) and figures with separators."""

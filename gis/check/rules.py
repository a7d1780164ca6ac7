"""The check rules per kind of application, read from gis/data/rules.toml and homestead_caps.csv."""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from gis.catalog import all_layers, case_layers

KINDS = ("homestead", "requisition", "mining")
PREDICATES = {
    "overlap",
    "outside",
    "area_cap",
    "household",
    "household_case",
    "mining_conflict",
    "case_conflict",
    "inventory",
}
CASE_PREDICATES = {"case_conflict", "household_case"}
"""Predicates that read a layer of the cases (gis.catalog.case_layers)."""
STATUSES = ("pass", "warn", "block")


class RuleError(ValueError):
    """The rules data is inconsistent, or a kind is unknown."""


@dataclass(frozen=True)
class Rule:
    """One rule of one kind, as data."""

    id: str
    title: str
    layer: str
    predicate: str
    status: str = "pass"
    basis: str = ""
    message: str = ""
    message_en: str = ""
    options: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ApprovalThresholds:
    """When a requisition needs the State Council rather than the province."""

    basic_farmland_m2: float
    cultivated_ha: float
    other_ha: float
    basis: str


@dataclass(frozen=True)
class RuleSet:
    """All rules of the window, with the shared tolerance and approval thresholds."""

    kinds: dict[str, tuple[Rule, ...]]
    titles: dict[str, tuple[str, str]]
    short_titles: dict[str, tuple[str, str]]
    min_overlap_m2: float
    approval: ApprovalThresholds
    split_above_m2: float = float("inf")
    split_layers: tuple[str, ...] = ()

    def for_kind(self, kind: str) -> tuple[Rule, ...]:
        """Return the rules of a kind, or raise RuleError naming the known kinds."""
        if kind not in self.kinds:
            raise RuleError(f"未知申请类型 unknown kind {kind!r}; known: {', '.join(self.kinds)}")
        return self.kinds[kind]

    def layers(self, kind: str) -> list[str]:
        """Return the distinct layers the rules of a kind read by overlap (the household's cases are read by household)."""
        return list(dict.fromkeys(r.layer for r in self.for_kind(kind) if r.predicate != "household_case"))


_RULE_KEYS = {"id", "title", "layer", "predicate", "status", "basis", "message", "message_en"}


def parse_rules(text: str) -> RuleSet:
    """Parse and validate rules TOML."""
    raw = tomllib.loads(text)
    kinds: dict[str, tuple[Rule, ...]] = {}
    titles: dict[str, tuple[str, str]] = {}
    short_titles: dict[str, tuple[str, str]] = {}
    seen: set[str] = set()
    if tuple(raw.get("kinds", {})) != KINDS:
        raise RuleError(f"rules.toml must define the kinds {', '.join(KINDS)} in this order")
    for kind, spec in raw.get("kinds", {}).items():
        rules = []
        for r in spec.get("rules", []):
            rule = Rule(
                **{k: v for k, v in r.items() if k in _RULE_KEYS},
                options={k: v for k, v in r.items() if k not in _RULE_KEYS},
            )
            if rule.id in seen:
                raise RuleError(f"rule id {rule.id} is used twice")
            seen.add(rule.id)
            if rule.predicate not in PREDICATES:
                raise RuleError(f"rule {rule.id}: unknown predicate {rule.predicate!r}")
            if rule.status not in STATUSES:
                raise RuleError(f"rule {rule.id}: unknown status {rule.status!r}")
            if rule.layer not in all_layers():
                raise RuleError(f"rule {rule.id}: unknown layer {rule.layer!r}")
            if (rule.predicate in CASE_PREDICATES) != (rule.layer in case_layers()):
                raise RuleError(f"rule {rule.id}: {rule.predicate} reads a layer of the cases, and only it does")
            if rule.predicate in CASE_PREDICATES and not rule.options.get("kinds"):
                raise RuleError(f"rule {rule.id}: {rule.predicate} needs the conflicting `kinds`")
            rules.append(rule)
        kinds[kind] = tuple(rules)
        titles[kind] = (spec.get("title", kind), spec.get("title_en", kind))
        short_titles[kind] = (spec.get("short_title", titles[kind][0]), spec.get("short_title_en", titles[kind][1]))
    a = raw["approval"]
    engine = raw.get("engine", {})
    for name in engine.get("split_layers", []):
        if name not in all_layers():
            raise RuleError(f"engine.split_layers: unknown layer {name!r}")
    return RuleSet(
        kinds=kinds,
        titles=titles,
        short_titles=short_titles,
        min_overlap_m2=float(raw.get("tolerance", {}).get("min_overlap_m2", 0.01)),
        approval=ApprovalThresholds(
            float(a["state_council_basic_farmland_m2"]),
            float(a["state_council_cultivated_ha"]),
            float(a["state_council_other_ha"]),
            a.get("basis", ""),
        ),
        split_above_m2=float(engine.get("split_above_m2", float("inf"))),
        split_layers=tuple(engine.get("split_layers", ())),
    )


@cache
def ruleset() -> RuleSet:
    """Return the window's rules, read once from the package data."""
    return parse_rules(resources.files("gis").joinpath("data/rules.toml").read_text("utf-8"))


def kind_title(kind: str, lang: str = "zh", short: bool = False) -> str:
    """Return a kind's title (or short title) in Chinese or English, as rules.toml names it."""
    rs = ruleset()
    zh, en = (rs.short_titles if short else rs.titles).get(kind, (kind, kind))
    return en if lang == "en" else zh


@cache
def homestead_caps_basis() -> dict[str, str]:
    """Return the legal source of each province's homestead caps (homestead_caps.csv `basis`)."""
    text = resources.files("gis").joinpath("data/homestead_caps.csv").read_text("utf-8")
    return {r["province"]: r["basis"] for r in csv.DictReader(text.splitlines()) if r.get("basis")}


@cache
def homestead_caps() -> dict[tuple[str, str], float]:
    """Return the homestead area caps keyed by (province, land type: cultivated|other)."""
    text = resources.files("gis").joinpath("data/homestead_caps.csv").read_text("utf-8")
    return {(r["province"], r["land_type"]): float(r["cap_m2"]) for r in csv.DictReader(text.splitlines())}

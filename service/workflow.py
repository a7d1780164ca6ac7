"""The case workflow and materials checklists, read from service/data/*.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

REVIEW = "@review"
IN_REVIEW = "in_review"
GUARDS = {
    "materials_complete",
    "boundary_checked",
    "check_not_blocked",
    "reviews_done",
    "dwell_working_days",
    "dwell_days",
    "needs_higher",
}


class WorkflowError(ValueError):
    """The workflow data is inconsistent."""


@dataclass(frozen=True)
class Transition:
    """One move of a case from some states to another, and who may make it."""

    name: str
    title: str
    from_states: tuple[str, ...]
    to: str
    roles: tuple[str, ...]
    guards: tuple[str, ...] = ()
    reason_required: bool = False
    clock: str | None = None
    decides: bool = False
    min_working_days: float = 0
    min_days: int = 0
    title_en: str = ""

    @property
    def target(self) -> str:
        """Return the state the case lands in."""
        return IN_REVIEW if self.to == REVIEW else self.to


@dataclass(frozen=True)
class KindWorkflow:
    """The transitions of one kind and its review departments."""

    kind: str
    transitions: tuple[Transition, ...]
    review_lead: str
    review_co: tuple[str, ...]

    def from_state(self, state: str) -> list[Transition]:
        """Return the transitions that leave a state."""
        return [t for t in self.transitions if state in t.from_states]

    def get(self, name: str) -> Transition | None:
        """Return a transition by name."""
        return next((t for t in self.transitions if t.name == name), None)


@dataclass(frozen=True)
class Material:
    """One item of a kind's checklist."""

    code: str
    name: str
    required: bool = True
    name_en: str = ""


@dataclass(frozen=True)
class Workflow:
    """All kinds' workflows, state titles and the case-number pattern."""

    kinds: dict[str, KindWorkflow]
    state_titles: dict[str, str]
    number_pattern: str
    number_codes: dict[str, str]
    materials: dict[str, tuple[Material, ...]]
    state_titles_en: dict[str, str] | None = None

    def state_title(self, state: str, lang: str = "zh") -> str:
        """Return a state's title in Chinese or English (the state's name when unknown)."""
        table = (self.state_titles_en or {}) if lang == "en" else self.state_titles
        return table.get(state) or self.state_titles.get(state, state)

    def kind(self, kind: str) -> KindWorkflow:
        """Return one kind's workflow."""
        if kind not in self.kinds:
            raise WorkflowError(f"未知申请类型 unknown kind {kind!r}; known: {', '.join(self.kinds)}")
        return self.kinds[kind]

    def case_number(self, kind: str, year: int, seq: int) -> str:
        """Format a case number like XA-2026-ZJ-000123."""
        return self.number_pattern.format(year=year, code=self.number_codes[kind], seq=seq)


def parse(workflow_text: str, materials_text: str) -> Workflow:
    """Parse and validate the workflow and materials data."""
    raw = tomllib.loads(workflow_text)
    states = dict(raw["states"])
    kinds: dict[str, KindWorkflow] = {}
    for kind, spec in raw["kinds"].items():
        transitions = []
        for t in spec["transitions"]:
            tr = Transition(
                name=t["name"],
                title=t["title"],
                from_states=tuple(t["from"]),
                to=t["to"],
                roles=tuple(t["roles"]),
                guards=tuple(t.get("guards", ())),
                reason_required=bool(t.get("reason_required", False)),
                clock=t.get("clock"),
                decides=bool(t.get("decides", False)),
                min_working_days=float(t.get("min_working_days", 0)),
                min_days=int(t.get("min_days", 0)),
                title_en=t.get("title_en", ""),
            )
            for s in (*tr.from_states, tr.target):
                if s not in states:
                    raise WorkflowError(f"{kind}.{tr.name}: unknown state {s!r}")
            unknown = set(tr.guards) - GUARDS
            if unknown:
                raise WorkflowError(f"{kind}.{tr.name}: unknown guards {sorted(unknown)}")
            transitions.append(tr)
        kinds[kind] = KindWorkflow(kind, tuple(transitions), spec["review_lead"], tuple(spec.get("review_co", ())))
    mats_raw = tomllib.loads(materials_text)
    materials = {
        kind: tuple(Material(m["code"], m["name"], bool(m.get("required", True)), m.get("name_en", ""))
                    for m in mats_raw.get(kind, []))
        for kind in kinds
    }
    numbers = raw["case_numbers"]
    return Workflow(kinds, states, numbers["pattern"], dict(numbers["codes"]), materials, dict(raw.get("states_en", {})))


@cache
def workflow() -> Workflow:
    """Return the window's workflow, read once from the package data."""
    data = resources.files("service").joinpath("data")
    return parse(data.joinpath("workflow.toml").read_text("utf-8"), data.joinpath("materials.toml").read_text("utf-8"))

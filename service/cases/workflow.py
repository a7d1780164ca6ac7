"""The case workflow and materials checklists, read from service/data/workflow.toml and materials.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from gis.check.rules import KINDS
from service.core.tables import DATA_DIR

REVIEW = "@review"
IN_REVIEW = "in_review"
GUARDS = {
    "materials_complete",
    "boundary_checked",
    "check_not_blocked",
    "reviews_done",
    "pre_announcement_over",
    "compensation_announcement_over",
    "needs_higher",
    "responses_answered",
}
EFFECTS = {
    "grant_mining_right",
    "renew_mining_right",
    "change_mining_right",
    "transfer_mining_right",
    "cancel_mining_right",
}
FORMS = {"site_visit", "mining_right"}
MAPS = {"pending", "approved", "none", "keep"}
CLOCKS = {"pause", "resume", "start"}
_TRANSITION_KEYS = {
    "name",
    "title",
    "title_en",
    "from",
    "to",
    "roles",
    "guards",
    "reason_required",
    "clock",
    "decides",
    "effects",
    "form",
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
    title_en: str = ""
    effects: tuple[str, ...] = ()
    """What taking it does besides moving the case (named in workflow.toml, done by service/cases/transitions.py)."""
    form: str | None = None
    """The form it is taken through (a site visit, a mining right's change): not a bare move of the case."""

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
class State:
    """A state a case can be in."""

    name: str
    title: str
    title_en: str
    decided: bool
    map: str = "pending"
    """What a case in this state is on the one map: pending, approved, none, or keep (what it was)."""


@dataclass(frozen=True)
class Workflow:
    """All kinds' workflows, the states and the case-number pattern."""

    kinds: dict[str, KindWorkflow]
    states: dict[str, State]
    number_pattern: str
    number_codes: dict[str, str]
    materials: dict[str, tuple[Material, ...]]
    editable_states: tuple[str, ...] = ()
    """States in which the paperwork (applicant, materials, boundary) may still change ([paperwork] editable_in)."""
    online_state: str | None = None
    """The state of applications sent online until the window takes them in ([online] state)."""

    @property
    def open_states(self) -> tuple[str, ...]:
        """Return the states of cases still being handled."""
        return tuple(s.name for s in self.states.values() if not s.decided)

    @property
    def decided_states(self) -> tuple[str, ...]:
        """Return the states of decided cases (clocks stopped)."""
        return tuple(s.name for s in self.states.values() if s.decided)

    def state_title(self, state: str, lang: str = "zh") -> str:
        """Return a state's title in Chinese or English (the state's name when unknown)."""
        s = self.states.get(state)
        if s is None:
            return state
        return (s.title_en or s.title) if lang == "en" else s.title

    def on_map(self, state: str, was: str | None) -> str | None:
        """Return what a case entering a state is on the one map (pending, approved or None), given what it was."""
        m = self.states[state].map
        return was if m == "keep" else None if m == "none" else m

    def kind(self, kind: str) -> KindWorkflow:
        """Return one kind's workflow."""
        if kind not in self.kinds:
            raise WorkflowError(f"未知申请类型 unknown kind {kind!r}; known: {', '.join(self.kinds)}")
        return self.kinds[kind]

    def case_number(self, kind: str, year: int, seq: int, prefix: str) -> str:
        """Format a case number like XA-2026-ZJ-000123 (the prefix is the county profile's)."""
        return self.number_pattern.format(prefix=prefix, year=year, code=self.number_codes[kind], seq=seq)


def _transition(kind: str, t: dict[str, Any], states: dict[str, State]) -> Transition:
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
        title_en=t.get("title_en", ""),
        effects=tuple(t.get("effects", ())),
        form=t.get("form"),
    )
    for s in (*tr.from_states, tr.target):
        if s not in states:
            raise WorkflowError(f"{kind}.{tr.name}: unknown state {s!r}")
    unknown = set(tr.guards) - GUARDS
    if unknown:
        raise WorkflowError(f"{kind}.{tr.name}: unknown guards {sorted(unknown)}")
    if set(tr.effects) - EFFECTS:
        raise WorkflowError(f"{kind}.{tr.name}: unknown effects {sorted(set(tr.effects) - EFFECTS)}")
    if tr.form is not None and tr.form not in FORMS:
        raise WorkflowError(f"{kind}.{tr.name}: unknown form {tr.form!r}")
    if tr.clock is not None and tr.clock not in CLOCKS:
        raise WorkflowError(f"{kind}.{tr.name}: unknown clock {tr.clock!r}; known: {', '.join(sorted(CLOCKS))}")
    return tr


def parse(workflow_text: str, materials_text: str) -> Workflow:
    """Parse and validate the workflow and materials data."""
    raw = tomllib.loads(workflow_text)
    states = {
        name: State(
            name,
            s["title"],
            s.get("title_en", ""),
            bool(s.get("decided", False)),
            s.get("map", "none" if s.get("decided") else "pending"),
        )
        for name, s in raw["states"].items()
    }
    for state in states.values():
        if state.map not in MAPS:
            raise WorkflowError(f"state {state.name}: map must be one of {', '.join(sorted(MAPS))}")
    if set(raw["kinds"]) != set(KINDS):
        raise WorkflowError(f"workflow.toml must define the kinds {', '.join(KINDS)} (gis/data/rules.toml)")
    kinds: dict[str, KindWorkflow] = {}
    for kind in KINDS:
        spec = raw["kinds"][kind]
        own = {t["name"]: t for t in spec.get("transitions", [])}
        shared = [t for t in raw.get("shared", []) if kind in t.get("kinds", KINDS)]
        # a kind's own transition of a shared name takes the shared one's place; the rest follow in their order
        rows = [own.pop(t["name"], {k: v for k, v in t.items() if k in _TRANSITION_KEYS}) for t in shared]
        transitions = tuple(_transition(kind, t, states) for t in (*rows, *own.values()))
        kinds[kind] = KindWorkflow(kind, transitions, spec["review_lead"], tuple(spec.get("review_co", ())))
    mats_raw = tomllib.loads(materials_text)
    materials = {
        kind: tuple(
            Material(m["code"], m["name"], bool(m.get("required", True)), m.get("name_en", ""))
            for m in mats_raw.get(kind, [])
        )
        for kind in kinds
    }
    numbers = raw["case_numbers"]
    editable = tuple(raw.get("paperwork", {}).get("editable_in", ()))
    unknown_states = [s for s in editable if s not in states]
    if unknown_states:
        raise WorkflowError(f"[paperwork] editable_in: unknown states {unknown_states}")
    online = raw.get("online", {}).get("state")
    if online is not None and online not in states:
        raise WorkflowError(f"[online] state: unknown state {online!r}")
    return Workflow(kinds, states, numbers["pattern"], dict(numbers["codes"]), materials, editable, online)


@cache
def workflow() -> Workflow:
    """Return the window's workflow, read once from the package data."""
    return parse((DATA_DIR / "workflow.toml").read_text("utf-8"), (DATA_DIR / "materials.toml").read_text("utf-8"))


def open_states() -> tuple[str, ...]:
    """Return the states of cases still being handled (workflow.toml)."""
    return workflow().open_states


def decided_states() -> tuple[str, ...]:
    """Return the states of decided cases (workflow.toml)."""
    return workflow().decided_states

"""Who may do what: the one home of every role rule (service/data/permissions.toml, and the role lists of the
workflow's transitions and the filing decisions), and which cases a member of staff may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, select, true
from sqlalchemy.orm import Session

from service.core.errors import NotFound, PermissionDenied
from service.core.models import Case, FilingPackage, ReviewTask
from service.core.tables import read_table

if TYPE_CHECKING:
    from service.access.auth import Principal
    from service.core.models import ReviewTask as Task


@dataclass(frozen=True)
class Action:
    """Something staff do, the roles that may do it, and what a refused person is told."""

    name: str
    roles: tuple[str, ...]
    refusal: str


@dataclass(frozen=True)
class Permissions:
    """The permissions table."""

    roles: dict[str, str]
    actions: dict[str, Action]
    department_only: frozenset[str]
    operator_role: str
    operator_actor: str
    public_routes: frozenset[str]
    public_commands: frozenset[str]


class PermissionsError(ValueError):
    """The permissions table is inconsistent."""


@cache
def table() -> Permissions:
    """Return the permissions table, read once and checked."""
    raw = read_table("permissions.toml")
    roles = dict(raw["roles"])
    actions = {}
    for name, spec in raw["actions"].items():
        unknown = set(spec["roles"]) - set(roles)
        if unknown:
            raise PermissionsError(f"permissions.toml: action {name!r} names unknown roles {sorted(unknown)}")
        actions[name] = Action(name, tuple(spec["roles"]), spec["zh"])
    return Permissions(
        roles=roles,
        actions=actions,
        department_only=frozenset(raw["visibility"]["department_only"]),
        operator_role=raw["operator"]["role"],
        operator_actor=raw["operator"]["actor"],
        public_routes=frozenset(raw["public"]["routes"]),
        public_commands=frozenset(raw["public"]["commands"]),
    )


def roles() -> tuple[str, ...]:
    """Return the roles of staff."""
    return tuple(table().roles)


def action(name: str) -> Action:
    """Return an action of the table (a typo in code is a KeyError at once, not a silent refusal)."""
    return table().actions[name]


def allows(principal: Principal, name: str) -> bool:
    """Return whether the principal's role may do the action."""
    return principal.role in action(name).roles


def require(principal: Principal, name: str) -> None:
    """Refuse (PermissionDenied) a principal whose role may not do the action."""
    if not allows(principal, name):
        raise PermissionDenied(action(name).refusal)


def require_role_in(role: str, allowed: Sequence[str], title: str, title_en: str) -> None:
    """Refuse a role that is not among a data row's roles (a transition's, a filing decision's)."""
    if role not in allowed:
        raise PermissionDenied(
            f"角色 {role} 不能执行 {title} / role {role!r} may not {title_en or title} (allowed: {', '.join(allowed)})"
        )


def require_task(principal: Principal, task: Task) -> None:
    """Refuse a review opinion from anyone but the task's own department (or an administrator)."""
    require(principal, "case.review")
    if principal.role in table().department_only and principal.department != task.department:
        raise PermissionDenied(f"该任务属于{task.department} / this task belongs to {task.department}")


def case_visibility(principal: Principal) -> ColumnElement[bool]:
    """Return the condition on cases that the principal may see: staff of a county its cases only, reviewers
    their department's tasks."""
    county = true() if principal.county is None else Case.county == principal.county
    if principal.role not in table().department_only:
        return county
    return and_(county, Case.id.in_(select(ReviewTask.case_id).where(ReviewTask.department == principal.department)))


def visible_case(session: Session, principal: Principal, case_id: int) -> Case:
    """Return a case the principal may see, or NotFound (the same answer as for a case that does not exist)."""
    found = session.scalar(select(Case).where(Case.id == case_id, case_visibility(principal)))
    if found is None:
        raise NotFound(f"案件不存在 / case {case_id} not found")
    return found


def sees_case(session: Session, principal: Principal, case_id: int) -> bool:
    """Return whether the principal may see the case."""
    return session.scalar(select(Case.id).where(Case.id == case_id, case_visibility(principal))) is not None


def package_visibility(principal: Principal) -> ColumnElement[bool]:
    """Return the condition on filing packages that the principal may see: those of a case they may see.

    A package received from the level below has no case on this instance, so only roles that see every case see it.
    """
    if principal.role not in table().department_only:
        return true()
    return FilingPackage.case_id.in_(select(Case.id).where(case_visibility(principal)))


def is_public_route(method: str, path: str) -> bool:
    """Return whether a route is declared public (anyone may call it without asking)."""
    return f"{method} {path}" in table().public_routes


def is_public_command(name: str) -> bool:
    """Return whether a command is declared to touch no case, account or layer."""
    return name in table().public_commands

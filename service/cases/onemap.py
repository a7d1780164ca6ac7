"""The cases on the one map: the open cases a change of the case layers touches, checked again at once.

A case is on the layers cases_pending and cases_approved by cases.on_map, which follows its state (workflow.toml
`map`); the layers are views over the cases table, whose version a trigger bumps at commit. A change there — a
boundary set or replaced, a decision, a right granted or cancelled — changes what other cases see: the open cases it
touches (their boundaries overlap the changed case's, before or after, or they are the same household's) are
checked again in the same transaction, one statement per kind, and the check names the case that changed.
"""

from __future__ import annotations

from collections.abc import Iterable

from geoalchemy2.shape import from_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from gis.catalog import STORAGE_SRID, case_layers, layer
from gis.check.rules import KINDS, ruleset
from service.cases.checking import recheck_cases
from service.cases.workflow import open_states
from service.core.models import Case, CheckRun


def pending_conflicts_look_back() -> bool:
    """Return whether every rule on the layer of pending cases weighs only cases lodged earlier (first come, first
    served): then a pending boundary that changes concerns only the cases lodged after it (rules.toml)."""
    pending = {n for n, spec in case_layers().items() if spec.cases == "pending"}
    rules = [r for kind in KINDS for r in ruleset().for_kind(kind) if r.layer in pending]
    return all(r.options.get("earlier_only") for r in rules if r.predicate == "case_conflict")


def touched_open_cases(
    session: Session, case: Case, old_geom: BaseGeometry | None = None, pending_only: bool = False
) -> list[Case]:
    """Return the other open cases whose boundary overlaps the case's (now or before) or that share its household.

    `pending_only`: the case stayed a pending case (its boundary was set or replaced); when the rules on pending
    cases look back only, the overlapping cases lodged before it see no change and are left out.
    """
    near = []
    overlaps = []
    if case.geom is not None:
        here = select(Case.geom).where(Case.id == case.id).scalar_subquery()
        overlaps.append(Case.geom.ST_Intersects(here))
    if old_geom is not None and not old_geom.is_empty:
        overlaps.append(Case.geom.ST_Intersects(from_shape(old_geom, srid=STORAGE_SRID)))
    if overlaps:
        later = pending_only and pending_conflicts_look_back()
        near.append(and_(or_(*overlaps), Case.received_at > case.received_at) if later else or_(*overlaps))
    if case.household_id:
        near.append(Case.household_id == case.household_id)
    if not near:
        return []
    # locked in id order: two changes that touch each other's cases wait in one order rather than crosswise
    return list(
        session.scalars(
            select(Case)
            .where(Case.id != case.id, Case.status.in_(open_states()), Case.geom.is_not(None), or_(*near))
            .order_by(Case.id)
            .with_for_update()
        )
    )


def follow_change(
    session: Session,
    case: Case,
    actor: str,
    change: str,
    old_geom: BaseGeometry | None = None,
    pending_only: bool = False,
) -> dict[int, CheckRun]:
    """Check again the open cases a change of this case touches; return their new checks by case id."""
    touched = touched_open_cases(session, case, old_geom, pending_only)
    if not touched:
        return {}
    session.flush()  # the change itself is what they must see
    return recheck_cases(session, touched, actor, "follow", {"after": case.case_no, "change": change})


def bump_layers(session: Session, layers: Iterable[str]) -> None:
    """Count a change of layers written by the service (a granted mining right): their version goes up by one."""
    for name in sorted(set(layers)):
        table = layer(name).name  # an imported layer of the catalog (CatalogError otherwise)
        session.execute(
            text(
                "INSERT INTO layer_versions AS v (layer, version, feature_count, source) "
                f"VALUES (:name, 1, (SELECT count(*) FROM \"{table}\"), 'cases') "
                "ON CONFLICT (layer) DO UPDATE SET version = v.version + 1, feature_count = excluded.feature_count, "
                "loaded_at = clock_timestamp()"
            ),
            {"name": name},
        )

"""After a homestead's approval, the three site visits (选址踏勘, 放线, 竣工验收): each recorded with its date,
inspector, photos and findings, taking its step of the workflow; the completion visit compares the as-built
footprint with the approved plot (built outside, over the cap) and only a footprint that does not block completes it.

Steps, photo limits and the as-built thresholds are in service/data/sitevisits.toml.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.catalog import STORAGE_SRID
from gis.check.rules import homestead_caps
from service.access import permissions
from service.access.auth import Principal
from service.cases import records
from service.cases.boundaries import BoundaryInput
from service.cases.checking import latest_check
from service.cases.records import bump, locked_case
from service.cases.transitions import take
from service.cases.workflow import workflow
from service.clocks.calendar import LOCAL_TZ
from service.core.audit import audit
from service.core.errors import Conflict, InvalidInput, NotFound
from service.core.models import Case, SiteVisit, VisitPhoto
from service.core.settings import session_settings
from service.core.tables import read_table

MAX_TEXT = 4000


@dataclass(frozen=True)
class Step:
    """One of the visits, the workflow transition it takes, and whether it brings the as-built footprint."""

    code: str
    title: str
    title_en: str
    transition: str
    as_built: bool = False


@dataclass(frozen=True)
class PhotoUpload:
    """A photo as uploaded: its file name and bytes (read at most max_bytes + 1)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class VisitInput:
    """What the inspector reports from the site."""

    step: str
    visited_on: date
    inspector: str
    findings: str
    photos: Sequence[PhotoUpload] = ()
    as_built: BoundaryInput | None = None


@dataclass
class CheckedPhoto:
    """A photo that passed the checks, with what the header says."""

    filename: str
    media_type: str
    width: int
    height: int
    data: bytes = field(repr=False)


@cache
def table() -> dict[str, Any]:
    """Return the site visits' table (service/data/sitevisits.toml)."""
    return read_table("sitevisits.toml")


@cache
def steps() -> tuple[Step, ...]:
    """Return the visits in their order."""
    return tuple(Step(**s) for s in table()["steps"])


def step(code: str) -> Step:
    """Return a visit step by code, or InvalidInput naming the steps."""
    for s in steps():
        if s.code == code:
            return s
    known = ", ".join(s.code for s in steps())
    raise InvalidInput(f"未知的现场核查环节 {code!r} / unknown site visit {code!r}; known: {known}")


def next_step(case: Case) -> Step | None:
    """Return the visit the case waits for now (its state has that visit's transition), or None."""
    if case.kind != "homestead":
        return None
    names = {t.name for t in workflow().kind(case.kind).from_state(case.status)}
    return next((s for s in steps() if s.transition in names), None)


def check_photo(upload: PhotoUpload) -> CheckedPhoto:
    """Check one photo's size, then its header (format, pixels), before anything is decoded; InvalidInput otherwise."""
    limits = table()["photos"]
    name = upload.filename or "photo"
    size, most = len(upload.data), int(limits["max_bytes"])
    if size == 0:
        raise InvalidInput(f"{name}: 照片文件为空 / the photo is empty")
    if size > most:
        raise InvalidInput(
            f"{name}: 照片超过 {most / 1048576:.0f} MB / the photo is larger than the {most / 1048576:.0f} MB allowed"
        )
    formats = [str(f) for f in limits["formats"]]
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            fmt, (width, height) = image.format, image.size
            if width * height > int(limits["max_pixels"]):
                raise InvalidInput(
                    f"{name}: 照片 {width}×{height} 像素过大 / the photo's {width}×{height} pixels are more than "
                    f"{int(limits['max_pixels']):,} allowed"
                )
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(
            f"{name}: 不是可识别的图片（{'、'.join(formats)}）/ not an image this window takes ({', '.join(formats)}): "
            f"{type(exc).__name__}"
        ) from exc
    if fmt not in formats:
        raise InvalidInput(
            f"{name}: 图片格式 {fmt} 不受支持，请用 {'、'.join(formats)} / the image format {fmt} is not taken; use "
            f"{', '.join(formats)}"
        )
    return CheckedPhoto(name[:200], Image.MIME[fmt], width, height, upload.data)


def _check_input(visit: VisitInput, s: Step) -> list[CheckedPhoto]:
    if not visit.inspector.strip():
        raise InvalidInput("请填写核查人员 / the inspector is missing")
    if not visit.findings.strip():
        raise InvalidInput("请填写核查意见 / the findings are missing")
    if len(visit.inspector) > 200 or len(visit.findings) > MAX_TEXT:
        raise InvalidInput(
            f"核查人员不超过 200 字、核查意见不超过 {MAX_TEXT} 字 / the inspector takes at most 200 characters, the "
            f"findings {MAX_TEXT}"
        )
    today = records.now().astimezone(LOCAL_TZ).date()
    if visit.visited_on > today:
        raise InvalidInput(
            f"核查日期 {visit.visited_on} 晚于今天 / the visit's date {visit.visited_on} is in the future"
        )
    most = int(table()["photos"]["max_count"])
    if len(visit.photos) > most:
        raise InvalidInput(f"每次核查最多 {most} 张照片 / at most {most} photos a visit (got {len(visit.photos)})")
    if not visit.photos:
        raise InvalidInput("请上传现场照片 / upload at least one photo of the site")
    if s.as_built and visit.as_built is None:
        raise InvalidInput(
            f"“{s.title}”须提交竣工测量的房屋范围 / the {s.title_en.lower()} needs the as-built footprint"
        )
    if not s.as_built and visit.as_built is not None:
        raise InvalidInput(f"“{s.title}”不提交竣工范围 / only the completion inspection brings an as-built footprint")
    return [check_photo(p) for p in visit.photos]


def compare_as_built(session: Session, case: Case, footprint: BoundaryInput) -> dict[str, Any]:
    """Compare an as-built footprint with the case's approved plot in the plot's GK zone: built outside, over the cap.

    Returns the figures, the part outside as GeoJSON (lon/lat) and the verdict (pass / warn / block) by the
    thresholds of sitevisits.toml; InvalidInput when the footprint lies too far from the plot to be its survey.
    """
    t = table()["as_built"]
    row = (
        session.execute(
            text(
                """
                SELECT ST_Area(a) AS built_m2, ST_Area(p) AS plot_m2, ST_Distance(a, p) AS distance_m,
                       ST_Area(ST_Difference(a, p)) AS outside_m2,
                       ST_AsGeoJSON(ST_Transform(ST_CollectionExtract(ST_Difference(a, p), 3), 4490), 9) AS outside
                  FROM cases c
                  CROSS JOIN LATERAL (SELECT 4488 + floor((ST_X(ST_Centroid(c.geom)) + 1.5) / 3)::int AS srid) z
                  CROSS JOIN LATERAL (SELECT ST_Transform(ST_GeomFromWKB(:wkb, :srid4490), z.srid) AS a,
                                             ST_Transform(c.geom, z.srid) AS p) g
                 WHERE c.id = :id
                """
            ),
            {"wkb": shapely.to_wkb(footprint.geometry), "srid4490": STORAGE_SRID, "id": case.id},
        )
        .mappings()
        .one()
    )
    if float(row["distance_m"]) > float(t["max_distance_m"]):
        raise InvalidInput(
            f"竣工范围距批准的宅基地 {row['distance_m']:.0f} 米，不是本宗宅基地的测量成果 / the as-built footprint "
            f"lies {row['distance_m']:.0f} m from the approved plot: it is not this plot's survey"
        )
    cap = _cap(session, case)
    built, outside = float(row["built_m2"]), float(row["outside_m2"])
    over_cap = max(0.0, built - cap) if cap is not None else 0.0
    if outside > float(t["block_outside_m2"]) or over_cap > float(t["block_over_cap_m2"]):
        verdict = "block"
    elif outside > float(t["tolerance_m2"]):
        verdict = "warn"
    else:
        verdict = "pass"
    return {
        "verdict": verdict,
        "built_m2": round(built, 2),
        "plot_m2": round(float(row["plot_m2"]), 2),
        "outside_m2": round(outside, 2),
        "cap_m2": cap,
        "over_cap_m2": round(over_cap, 2),
        "outside": json.loads(row["outside"]) if outside > 0 else None,
        "source": footprint.source,
        "thresholds": dict(t),
    }


def _cap(session: Session, case: Case) -> float | None:
    run = latest_check(session, case)
    homestead = (run.report.get("homestead") if run else None) or {}
    if homestead.get("cap_m2") is not None:
        return float(homestead["cap_m2"])
    settings = session_settings(session)
    own = settings.profile.caps()  # the county's own caps, else the province's
    return own.other_m2 if own is not None else homestead_caps().get((settings.province, "other"))


def record_visit(session: Session, actor: Principal, case_id: int, version: int, visit: VisitInput) -> SiteVisit:
    """Record a site visit with its photos and findings and take its step; a completion whose as-built footprint
    blocks is recorded, and the case stays where it is until the house is put right and visited again."""
    s = step(visit.step)
    t = workflow().kind("homestead").get(s.transition)
    if t is None:
        raise InvalidInput(f"workflow.toml has no transition {s.transition!r} for the visit {s.code!r}")
    permissions.require_role_in(actor.role, t.roles, t.title, t.title_en)  # before anything costs
    case = locked_case(session, case_id, version)
    expected = next_step(case)
    if expected is None or expected.code != s.code:
        wanted = f"“{expected.title}” / {expected.code}" if expected else "无 / none"
        raise Conflict(
            f"案件 {case.case_no} 当前状态“{workflow().state_title(case.status)}”，现在应登记的现场核查：{wanted} / "
            f"case {case.case_no} is in state {case.status!r}; the visit due now: {expected.code if expected else 'none'}"
        )
    photos = _check_input(visit, s)
    approved_on = (case.decided_at or case.received_at).astimezone(LOCAL_TZ).date()
    if visit.visited_on < approved_on:
        raise InvalidInput(
            f"核查日期 {visit.visited_on} 早于批准日期 {approved_on} / the visit's date {visit.visited_on} is before the "
            f"approval on {approved_on}"
        )
    comparison: dict[str, Any] = {}
    verdict = "pass"
    if visit.as_built is not None:
        comparison = compare_as_built(session, case, visit.as_built)
        verdict = comparison["verdict"]
    record = SiteVisit(
        case_id=case.id,
        step=s.code,
        visited_on=visit.visited_on,
        inspector=visit.inspector.strip(),
        findings=visit.findings.strip(),
        verdict=verdict,
        as_built=from_shape(visit.as_built.geometry, srid=STORAGE_SRID) if visit.as_built is not None else None,
        comparison=comparison,
        created_by=actor.user_id,
    )
    record.photos = [
        VisitPhoto(
            filename=p.filename,
            media_type=p.media_type,
            size=len(p.data),
            width=p.width,
            height=p.height,
            sha256=hashlib.sha256(p.data).hexdigest(),
            data=p.data,
        )
        for p in photos
    ]
    session.add(record)
    session.flush()
    summary: dict[str, Any] = {
        "visit_id": record.id,
        "step": s.code,
        "visited_on": visit.visited_on.isoformat(),
        "inspector": record.inspector,
        "verdict": verdict,
        "photos": len(photos),
        **{k: comparison[k] for k in ("built_m2", "outside_m2", "over_cap_m2", "cap_m2") if k in comparison},
    }
    audit(session, actor.actor, "visit.record", case.id, None, summary, detail=record.findings)
    if verdict == "block":
        bump(case)  # recorded, not passed: the case stays and the page shows why
    else:
        take(session, actor.actor, actor.role, case, s.transition, None, records.now(), details=record)
    session.flush()
    return record


def visits(session: Session, case: Case) -> list[SiteVisit]:
    """Return a case's visits, oldest first."""
    return list(session.scalars(select(SiteVisit).where(SiteVisit.case_id == case.id).order_by(SiteVisit.id)))


def visit_view(v: SiteVisit) -> dict[str, Any]:
    """Return a visit as the API and the case page show it (photos by id, no bytes)."""
    s = step(v.step)
    return {
        "id": v.id,
        "step": v.step,
        "title": s.title,
        "title_en": s.title_en,
        "visited_on": v.visited_on.isoformat(),
        "inspector": v.inspector,
        "findings": v.findings,
        "verdict": v.verdict,
        "comparison": {k: val for k, val in v.comparison.items() if k not in ("outside", "source")},
        "created_at": v.created_at.isoformat(),
        "photos": [
            {
                "id": p.id,
                "filename": p.filename,
                "media_type": p.media_type,
                "size": p.size,
                "width": p.width,
                "height": p.height,
                "sha256": p.sha256,
            }
            for p in v.photos
        ],
    }


def as_built_map(session: Session, case: Case) -> dict[str, Any] | None:
    """Return the latest completion visit's footprint and its part outside the plot for the case map, or None."""
    row = (
        session.execute(
            text(
                "SELECT ST_AsGeoJSON(as_built, 9) AS geom, verdict, comparison FROM site_visits "
                "WHERE case_id = :id AND as_built IS NOT NULL ORDER BY id DESC LIMIT 1"
            ),
            {"id": case.id},
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    c = dict(row["comparison"])
    return {
        "geometry": json.loads(row["geom"]),
        "outside": c.get("outside"),
        "verdict": row["verdict"],
        **{k: c.get(k) for k in ("built_m2", "outside_m2", "over_cap_m2", "cap_m2", "plot_m2")},
    }


def photo(session: Session, case: Case, visit_id: int, photo_id: int) -> VisitPhoto:
    """Return a photo of one of the case's visits, or NotFound."""
    found = session.scalar(
        select(VisitPhoto)
        .join(SiteVisit, SiteVisit.id == VisitPhoto.visit_id)
        .where(VisitPhoto.id == photo_id, SiteVisit.id == visit_id, SiteVisit.case_id == case.id)
    )
    if found is None:
        raise NotFound(f"照片不存在 / photo {photo_id} not found on this case's visit {visit_id}")
    return found

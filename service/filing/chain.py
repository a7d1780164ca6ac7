"""Upward filing (逐级报批): export a case as a signed package, receive one from the level below with our own
check, decide on it (预审签收 / 受理 / 退回 / 转报上级) and return a signed receipt that updates the sender's package.

County → city → province → ministry: an instance passing a package on wraps it, byte for byte, with its own opinion
and signature (one layer per level, each signed with its instance's Ed25519 key from the key registry). A receipt
from above is passed down to the sender of the package that was forwarded, so every level learns the decision.
Every step is one transaction of the caller's session; a refused package or receipt writes nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis.boundary import BoundaryError, CountyExtent, read_drawn, read_txt, write_txt
from gis.catalog import STORAGE_SRID
from gis.check import CheckInputError, boundary_geometry, run_check
from gis.crs import m2_to_mu
from service.access import permissions
from service.access.auth import Principal
from service.cases import records
from service.cases.boundaries import county_extent
from service.cases.checking import check_request, latest_check
from service.cases.workflow import workflow
from service.clocks import case_clocks as clocks
from service.core.audit import audit
from service.core.errors import Conflict, InvalidInput, NotFound
from service.core.models import Case, CheckRun, FilingPackage
from service.core.personal import mask_phone
from service.core.settings import Settings, session_settings
from service.core.tables import read_table
from service.filing.keys import KeyRegistry, key_id_of, load_private_key, load_registry
from service.filing.package import (
    INNER,
    VerifiedPackage,
    build_package,
    build_receipt,
    open_layers,
    open_receipt,
    pretty_json,
    refused,
    sha256,
)

BOUNDARY_FILE = "boundary.txt"
CHECK_FILE = "check_report.json"
MATERIALS_FILE = "materials.json"
CASE_FILE = "case.json"
OPINION_FILE = "opinion.json"


@dataclass(frozen=True)
class Decision:
    """A receiver's decision on a package: from which statuses, to which, by whom."""

    name: str
    title: str
    title_en: str
    from_statuses: tuple[str, ...]
    to: str
    roles: tuple[str, ...]
    reason_required: bool = False
    forward: bool = False
    """The package goes on to the level above, wrapped with this level's opinion (the reason)."""


@dataclass(frozen=True)
class FilingRules:
    """The filing chain's levels, who may do what, and the package statuses (service/data/filing.toml)."""

    levels: tuple[str, ...]
    level_titles: dict[str, str]
    export_from_states: tuple[str, ...]
    open_statuses: tuple[str, ...]
    tolerance_m2: float
    tolerance_ratio: float
    statuses: dict[str, str]
    decisions: dict[str, Decision]

    def rank(self, level: str) -> int:
        """Return a level's place in the chain (county 0 … ministry 3)."""
        if level not in self.levels:
            raise InvalidInput(f"未知层级 {level!r} / unknown level {level!r}; known: {', '.join(self.levels)}")
        return self.levels.index(level)

    def above(self, level: str) -> str | None:
        """Return the level right above, or None at the top."""
        i = self.rank(level)
        return self.levels[i + 1] if i + 1 < len(self.levels) else None


@cache
def rules() -> FilingRules:
    """Return the filing rules, read once from the package data."""
    raw = read_table("filing.toml")
    decisions = {
        d["name"]: Decision(
            d["name"],
            d["title"],
            d["title_en"],
            tuple(d["from"]),
            d["to"],
            tuple(d["roles"]),
            bool(d.get("reason_required", False)),
            bool(d.get("forward", False)),
        )
        for d in raw["decisions"]
    }
    statuses = dict(raw["statuses"])
    for d in decisions.values():
        unknown = {*d.from_statuses, d.to} - set(statuses)
        if unknown:
            raise ValueError(f"filing.toml: decision {d.name} names unknown statuses {sorted(unknown)}")
    return FilingRules(
        levels=tuple(raw["levels"]["order"]),
        level_titles=dict(raw["levels"]["titles"]),
        export_from_states=tuple(raw["export"]["from_states"]),
        open_statuses=tuple(raw["export"]["open_statuses"]),
        tolerance_m2=float(raw["receive"]["tolerance_m2"]),
        tolerance_ratio=float(raw["receive"]["tolerance_ratio"]),
        statuses=statuses,
        decisions=decisions,
    )


@dataclass(frozen=True)
class Instance:
    """This installation in the filing chain: its name, its level, its own signing key and the chain's registry."""

    name: str
    level: str
    key: Ed25519PrivateKey
    registry: KeyRegistry

    @property
    def key_id(self) -> str:
        """Return the id of this instance's public key."""
        return key_id_of(self.key.public_key())

    def sign(self, data: bytes) -> bytes:
        """Return this instance's Ed25519 signature of `data`."""
        return self.key.sign(data)

    @classmethod
    def from_settings(cls, settings: Settings) -> Instance:
        """Return this instance from its key file and the registry; refuse when either is missing or disagrees."""
        key_file = settings.filing_key_file or settings.filing_dir / "ed25519.pem"
        registry_file = settings.filing_registry or settings.filing_dir / "registry.toml"
        instance = cls(
            settings.instance_name, settings.instance_level, load_private_key(key_file), load_registry(registry_file)
        )
        own = instance.registry.get(instance.key_id)
        if own is None:
            raise Conflict(
                f"本系统的签名公钥（{instance.key_id}）未登记在 {registry_file} / this instance's key "
                f"{instance.key_id} is not in the key registry {registry_file}: add the entry printed by "
                "`landwindow filing keygen` (or `filing key`) on every instance of the chain"
            )
        if (own.name, own.level) != (instance.name, instance.level):
            raise Conflict(
                f"密钥登记表把本系统的公钥登记为 {own.name}（{own.level}），而本系统为 {instance.name}（{instance.level}）/ "
                f"the registry lists this instance's key as {own.name} ({own.level}), but this instance is "
                f"{instance.name} ({instance.level}): correct the registry or the profile's [instance]"
            )
        return instance


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


# --- export -------------------------------------------------------------------------------------------------------


def _case_data(case: Case) -> dict[str, Any]:
    """The case as the higher level needs it to approve: applicant identity, project, clocks, review opinions.

    No password or query-code hashes; the phone is masked (the approving authority does not call the applicant).
    """
    return {
        "case_no": case.case_no,
        "kind": case.kind,
        "status": case.status,
        "status_title": workflow().state_title(case.status),
        "applicant_name": case.applicant_name,
        "applicant_type": case.applicant_type,
        "id_number": case.id_number,
        "phone": mask_phone(case.phone),
        "township": case.township,
        "village": case.village,
        "household_id": case.household_id,
        "project_name": case.project_name,
        "industry": case.industry,
        "company": case.company,
        "mineral": case.mineral,
        "depth_top": case.depth_top,
        "depth_bottom": case.depth_bottom,
        "green_channel": case.green_channel,
        "area_m2": case.area_m2,
        "area_mu": m2_to_mu(case.area_m2) if case.area_m2 is not None else None,
        "boundary_source": case.boundary_source,
        "check_override": case.check_override,
        "received_at": _iso(case.received_at),
        "statutory_due": _iso(case.statutory_due),
        "promised_due": _iso(case.promised_due),
        "reviews": [
            {
                "department": t.department,
                "lead": t.lead,
                "result": t.result,
                "opinion": t.opinion,
                "done_at": _iso(t.done_at),
            }
            for t in case.tasks
        ],
    }


def _boundary_txt(case: Case, unit: str, at: datetime, extent: CountyExtent) -> bytes:
    feature = {
        "type": "Feature",
        "properties": {"parcel_no": case.case_no, "name": case.project_name or case.applicant_name},
        "geometry": mapping(to_shape(case.geom)),
    }
    try:
        boundary = read_drawn(feature, extent)
    except BoundaryError as exc:
        raise Conflict(f"案件用地范围无法写成界址点文件 / the case boundary cannot be written as a TXT: {exc}") from exc
    return write_txt(boundary, encoding="gbk", unit=unit, on=at.astimezone(clocks.LOCAL_TZ).date())


def export_case(
    session: Session,
    actor: Principal,
    instance: Instance,
    case_no: str,
    to_level: str | None = None,
    at: datetime | None = None,
) -> tuple[FilingPackage, bytes]:
    """Build, sign and record the upward package of a case that needs higher approval; return it and its bytes."""
    r = rules()
    permissions.require(actor, "filing.export")
    at = at or records.now()
    case = session.scalar(select(Case).where(Case.case_no == case_no).with_for_update())
    if case is None:
        raise NotFound(f"案件 {case_no} 不存在 / case {case_no} not found")
    if case.status not in r.export_from_states:
        titles = "、".join(workflow().state_title(s) for s in r.export_from_states)
        raise Conflict(
            f"案件 {case_no} 状态为“{workflow().state_title(case.status)}”，须为“{titles}”才能上报 / "
            f"case {case_no} is {case.status!r}; it is filed upward from {', '.join(r.export_from_states)}"
        )
    run = latest_check(session, case)
    if case.geom is None or run is None or not run.report.get("approval_level"):
        raise Conflict(
            f"案件 {case_no} 的核查报告未给出上级审批层级，无需上报 / the check of case {case_no} names no higher "
            "approval level: nothing to file upward"
        )
    target = to_level or r.above(instance.level)
    if target is None:
        raise Conflict(
            f"本系统为{r.level_titles[instance.level]}，没有更高层级 / this instance is {instance.level}: there is no level above"
        )
    if r.rank(target) <= r.rank(instance.level):
        raise InvalidInput(
            f"只能向上级报送：本系统为 {instance.level}，目标为 {target} / a package goes up: this instance is "
            f"{instance.level}, the target {target} is not above it"
        )
    open_pkg = session.scalar(
        select(FilingPackage).where(
            FilingPackage.direction == "sent",
            FilingPackage.case_id == case.id,
            FilingPackage.status.in_(r.open_statuses),
        )
    )
    if open_pkg is not None:
        raise Conflict(
            f"案件 {case_no} 已上报（报批包 {open_pkg.package_id}，{r.statuses[open_pkg.status]}），退回后才能重新上报 / "
            f"case {case_no} was filed already (package {open_pkg.package_id} is {open_pkg.status}); "
            "it can be sent again once returned",
            package_id=open_pkg.package_id,
        )
    package_id = str(uuid.uuid4())
    check = {
        "id": run.id,
        "created_at": _iso(run.created_at),
        "trigger": run.trigger,
        "verdict": run.verdict,
        "layer_versions": run.layer_versions,
        "report": run.report,
    }
    materials = [
        {
            "code": m.code,
            "name": m.name,
            "required": m.required,
            "received": m.received,
            "received_at": _iso(m.received_at),
        }
        for m in case.materials
    ]
    files = [
        (BOUNDARY_FILE, _boundary_txt(case, instance.name, at, county_extent(session))),
        (CHECK_FILE, pretty_json(check)),
        (MATERIALS_FILE, pretty_json(materials)),
        (CASE_FILE, pretty_json(_case_data(case))),
    ]
    approval = run.report["approval_level"]
    manifest = {
        "package_id": package_id,
        "created_at": at.isoformat(),
        "sender": {"name": instance.name, "level": instance.level},
        "receiver": {"level": target},
        "case": {
            "case_no": case.case_no,
            "kind": case.kind,
            "verdict": run.verdict,
            "approval_level": approval["level"],
            "area_m2": case.area_m2,
        },
    }
    data = build_package(manifest, files, instance)
    layers = open_layers(data, instance.registry, r.levels)
    pkg = FilingPackage(
        package_id=package_id,
        direction="sent",
        case_id=case.id,
        case_no=case.case_no,
        kind=case.kind,
        sender_name=instance.name,
        sender_level=instance.level,
        receiver_level=target,
        status="sent",
        manifest=layers[0].manifest,
        layers=_layer_views(layers),
        archive=data,
        archive_sha256=sha256(data),
        sender_verdict=run.verdict,
        sender_approval_level=approval["level"],
        geom=case.geom,
        created_by=actor.user_id,
        created_at=at,
        updated_at=at,
    )
    session.add(pkg)
    session.flush()
    audit(
        session,
        actor.actor,
        "filing.export",
        case.id,
        None,
        {"package_id": package_id, "to_level": target, "sha256": pkg.archive_sha256, "check_id": run.id},
    )
    return pkg, data


# --- receive ------------------------------------------------------------------------------------------------------


def _close(a: float, b: float, r: FilingRules) -> bool:
    return abs(a - b) <= max(r.tolerance_m2, r.tolerance_ratio * max(abs(a), abs(b)))


def compare_reports(sender: dict[str, Any], receiver: dict[str, Any]) -> list[dict[str, Any]]:
    """Return where the receiver's check differs from the sender's: verdict, approval level, area, each rule."""
    r = rules()
    out: list[dict[str, Any]] = []

    def differ(item: str, s: Any, v: Any, zh: str, en: str) -> None:
        out.append({"item": item, "sender": s, "receiver": v, "message": f"{zh} / {en}"})

    if sender.get("verdict") != receiver.get("verdict"):
        differ("verdict", sender.get("verdict"), receiver.get("verdict"), "总体结论不同", "the verdicts differ")
    s_level = (sender.get("approval_level") or {}).get("level")
    v_level = (receiver.get("approval_level") or {}).get("level")
    if s_level != v_level:
        differ("approval_level", s_level, v_level, "审批层级不同", "the approval levels differ")
    if not _close(float(sender.get("area_m2") or 0), float(receiver.get("area_m2") or 0), r):
        differ("area_m2", sender.get("area_m2"), receiver.get("area_m2"), "用地面积不同", "the boundary areas differ")
    s_rules = {x["rule"]: x for x in sender.get("rules", [])}
    v_rules = {x["rule"]: x for x in receiver.get("rules", [])}
    for rule in sorted(s_rules.keys() | v_rules.keys()):
        s, v = s_rules.get(rule), v_rules.get(rule)
        if s is None or v is None:
            differ(
                f"rule:{rule}",
                s and s["status"],
                v and v["status"],
                f"规则 {rule} 仅一方核查",
                f"rule {rule} was checked by one side only",
            )
        elif s["status"] != v["status"]:
            differ(
                f"rule:{rule}",
                s["status"],
                v["status"],
                f"规则 {rule}（{v.get('title', '')}）结论不同",
                f"rule {rule} differs",
            )
        elif not _close(float(s["overlap_m2"]), float(v["overlap_m2"]), r):
            differ(
                f"rule:{rule}:overlap_m2",
                s["overlap_m2"],
                v["overlap_m2"],
                f"规则 {rule} 重叠面积不同",
                f"rule {rule}'s overlap area differs",
            )
    return out


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) else None


def _layer_views(layers: list[VerifiedPackage]) -> list[dict[str, Any]]:
    """Return who wrote each layer of a package (outermost first), with each passing level's opinion."""
    out = []
    for pkg in layers:
        m = pkg.manifest
        view: dict[str, Any] = {
            "package_id": m.get("package_id"),
            "created_at": m.get("created_at"),
            "signer": pkg.signer.label(),
            "receiver_level": (m.get("receiver") or {}).get("level"),
        }
        if OPINION_FILE in pkg.files:
            view["opinion"] = pkg.json(OPINION_FILE)
        out.append(view)
    return out


def receive_package(
    session: Session, actor: Principal, instance: Instance, data: bytes, at: datetime | None = None
) -> FilingPackage:
    """Verify a package (every layer) from a level below, re-run its check on our own map, store all in one go."""
    r = rules()
    permissions.require(actor, "filing.receive")
    at = at or records.now()
    layers = open_layers(data, instance.registry, r.levels)
    outer, origin = layers[0], layers[-1]
    m = outer.manifest
    try:
        package_id, sender, receiver_level, case_info = (
            str(m["package_id"]),
            m["sender"],
            m["receiver"]["level"],
            m["case"],
        )
        sender_name, sender_level, case_no, kind = (
            str(sender["name"]),
            sender["level"],
            str(case_info["case_no"]),
            case_info["kind"],
        )
    except (KeyError, TypeError) as exc:
        raise refused(f"清单缺少字段 {exc}", f"the manifest lacks {exc}", "manifest", "manifest.json") from exc
    if receiver_level != instance.level:
        raise refused(
            f"层级不符：报批包报送至 {receiver_level}，本系统为 {instance.level}",
            f"wrong level: the package is addressed to {receiver_level!r}, this instance is {instance.level!r}",
            "level",
        )
    if sender_level not in r.levels or r.rank(sender_level) >= r.rank(instance.level):
        raise refused(
            f"层级不符：报送方为 {sender_level}，不低于本系统 {instance.level}",
            f"wrong level: the sender's level {sender_level!r} is not below this instance's {instance.level!r}",
            "level",
        )
    existing = session.scalar(
        select(FilingPackage.id).where(FilingPackage.direction == "received", FilingPackage.package_id == package_id)
    )
    if existing is not None:
        raise Conflict(f"报批包 {package_id} 已接收 / package {package_id} was received already", package_id=package_id)
    case_data = origin.json(CASE_FILE)
    sender_check = origin.json(CHECK_FILE)
    origin.json(MATERIALS_FILE)
    for layer in layers[:-1]:
        layer.json(OPINION_FILE)
    try:
        boundary = read_txt(origin.files[BOUNDARY_FILE], extent=county_extent(session))
    except BoundaryError as exc:
        raise refused(
            f"界址点文件无法解析：{exc}", f"the boundary TXT does not parse: {exc}", "boundary", BOUNDARY_FILE
        ) from exc
    geometry = boundary_geometry([p.geometry for p in boundary.parcels])
    req = check_request(
        session_settings(session),
        kind,
        geometry,
        household_id=case_data.get("household_id"),
        depth_top=_num(case_data.get("depth_top")),
        depth_bottom=_num(case_data.get("depth_bottom")),
    )
    conn = session.connection().connection.driver_connection  # the psycopg connection of this transaction
    try:
        report = run_check(conn, req)  # type: ignore[arg-type]
    except CheckInputError as exc:
        raise refused(f"无法核查：{exc}", f"the boundary cannot be checked: {exc}", "boundary", BOUNDARY_FILE) from exc
    ours = report.to_dict()
    # where our map differs from the check of the county that took the application in
    disagreements = compare_reports(sender_check.get("report") or {}, ours)
    run = CheckRun(
        case_id=None,
        kind=kind,
        verdict=report.verdict,
        layer_versions=report.layer_versions,
        report=ours,
        trigger="filing",
        created_by=actor.user_id,
    )
    session.add(run)
    session.flush()
    received = FilingPackage(
        package_id=package_id,
        direction="received",
        case_id=None,
        case_no=case_no,
        kind=kind,
        sender_name=sender_name,
        sender_level=sender_level,
        receiver_level=instance.level,
        receiver_name=instance.name,
        status="pending",
        manifest=m,
        layers=_layer_views(layers),
        archive=data,
        archive_sha256=sha256(data),
        sender_verdict=sender_check.get("verdict"),
        sender_approval_level=case_info.get("approval_level"),
        check_run_id=run.id,
        agrees=not disagreements,
        disagreements=disagreements,
        geom=from_shape(geometry, srid=STORAGE_SRID),
        created_by=actor.user_id,
        created_at=at,
        updated_at=at,
    )
    session.add(received)
    try:
        session.flush()
    except IntegrityError as exc:  # the same package received at the same moment by another clerk
        raise Conflict(
            f"报批包 {package_id} 已接收 / package {package_id} was received already", package_id=package_id
        ) from exc
    audit(
        session,
        actor.actor,
        "filing.receive",
        None,
        None,
        {
            "package_id": package_id,
            "case_no": case_no,
            "sender": sender_name,
            "sender_level": sender_level,
            "signers": [layer.signer.key_id for layer in layers],
            "check_id": run.id,
            "verdict": run.verdict,
            "agrees": not disagreements,
            "disagreements": [d["item"] for d in disagreements],
        },
    )
    return received


# --- decisions and receipts ---------------------------------------------------------------------------------------


def _package(session: Session, package_id: str, direction: str, reader: Principal, lock: bool = False) -> FilingPackage:
    q = select(FilingPackage).where(
        FilingPackage.package_id == package_id,
        FilingPackage.direction == direction,
        permissions.package_visibility(reader),
    )
    pkg = session.scalar(q.with_for_update() if lock else q)
    if pkg is None:
        what = "收到的" if direction == "received" else "上报的"
        raise NotFound(f"没有{what}报批包 {package_id} / no {direction} package {package_id}")
    return pkg


def get_package(session: Session, package_id: str, reader: Principal) -> FilingPackage:
    """Return a package by id that the reader may see (received first: an instance may both receive and send).

    A package the reader may not see answers as one that does not exist (permissions.package_visibility).
    """
    visible = permissions.package_visibility(reader)
    for direction in ("received", "sent"):
        pkg = session.scalar(
            select(FilingPackage).where(
                FilingPackage.package_id == package_id, FilingPackage.direction == direction, visible
            )
        )
        if pkg is not None:
            return pkg
    raise NotFound(f"报批包 {package_id} 不存在 / package {package_id} not found")


def _receiver_check(session: Session, pkg: FilingPackage) -> dict[str, Any]:
    run = session.get(CheckRun, pkg.check_run_id) if pkg.check_run_id else None
    return {
        "verdict": run.verdict if run else None,
        "approval_level": ((run.report.get("approval_level") or {}).get("level") if run else None),
        "agrees": pkg.agrees,
        "disagreements": pkg.disagreements,
    }


def _forward(
    session: Session, actor: Principal, instance: Instance, received: FilingPackage, opinion: str, at: datetime
) -> FilingPackage:
    """Wrap a received package with this level's opinion and signature, addressed to the level above; record it."""
    r = rules()
    target = r.above(instance.level)
    if target is None:
        raise Conflict(
            f"本系统为{r.level_titles[instance.level]}，没有更高层级可转报 / this instance is {instance.level}: "
            "there is no level above to pass the package on to"
        )
    run = session.get(CheckRun, received.check_run_id) if received.check_run_id else None
    inner_id = received.package_id
    opinion_doc = {
        "instance": {"name": instance.name, "level": instance.level},
        "opinion": opinion,
        "by": actor.username,
        "at": at.isoformat(),
        "received_package_id": inner_id,
        "status_before": received.status,
        "check": {
            **_receiver_check(session, received),
            "layer_versions": run.layer_versions if run else {},
            "report": run.report if run else None,
        },
    }
    package_id = str(uuid.uuid4())
    manifest = {
        "package_id": package_id,
        "created_at": at.isoformat(),
        "sender": {"name": instance.name, "level": instance.level},
        "receiver": {"level": target},
        "case": received.manifest["case"],
        "inner": {"package_id": inner_id, "sender": received.manifest["sender"]},
    }
    data = build_package(manifest, [(INNER, received.archive), (OPINION_FILE, pretty_json(opinion_doc))], instance)
    layers = open_layers(data, instance.registry, r.levels)
    sent = FilingPackage(
        package_id=package_id,
        direction="sent",
        case_id=None,
        case_no=received.case_no,
        kind=received.kind,
        sender_name=instance.name,
        sender_level=instance.level,
        receiver_level=target,
        status="sent",
        manifest=layers[0].manifest,
        layers=_layer_views(layers),
        archive=data,
        archive_sha256=sha256(data),
        sender_verdict=received.sender_verdict,
        sender_approval_level=received.sender_approval_level,
        check_run_id=received.check_run_id,
        agrees=received.agrees,
        disagreements=received.disagreements,
        geom=received.geom,
        forwarded_from=received.id,
        created_by=actor.user_id,
        created_at=at,
        updated_at=at,
    )
    session.add(sent)
    session.flush()
    return sent


def _issue_receipt(
    session: Session, instance: Instance, pkg: FilingPackage, decision: str, status: str, **facts: Any
) -> dict[str, Any]:
    """Sign the next receipt of a received package for its sender and keep it on the package."""
    r = rules()
    pkg.receipt_seq += 1
    payload = {
        "package_id": pkg.package_id,
        "case_no": pkg.case_no,
        "sender_name": pkg.sender_name,
        "sender_level": pkg.sender_level,
        "receiver_name": instance.name,
        "receiver_level": instance.level,
        "decision": decision,
        "status": status,
        "status_title": r.statuses[status],
        "sequence": pkg.receipt_seq,
        "receiver_check": _receiver_check(session, pkg),
        "upstream": [],
        **facts,
    }
    receipt = build_receipt(payload, instance)
    pkg.receipt = receipt
    return receipt


def read_package(session: Session, package_id: str, reader: Principal, what: str) -> FilingPackage:
    """Return a package the reader may see, the reading (`what`: view, archive, receipt) written to the audit log on
    its case when it has one: the archive carries the applicant's full identity."""
    pkg = get_package(session, package_id, reader)
    audit(session, reader.actor, "filing.read", pkg.case_id, None, {"package_id": pkg.package_id, "what": what})
    return pkg


def decide(
    session: Session,
    actor: Principal,
    instance: Instance,
    package_id: str,
    decision: str,
    reason: str | None = None,
    at: datetime | None = None,
) -> tuple[FilingPackage, dict[str, Any]]:
    """Pre-sign, receive, return or pass on a received package; return it and the signed receipt for the sender."""
    r = rules()
    d = r.decisions.get(decision)
    if d is None:
        raise InvalidInput(f"未知决定 {decision!r} / unknown decision {decision!r}; known: {', '.join(r.decisions)}")
    permissions.require_role_in(actor.role, d.roles, d.title, d.title_en)
    at = at or records.now()
    pkg = _package(session, package_id, "received", actor, lock=True)
    if pkg.status not in d.from_statuses:
        raise Conflict(
            f"报批包状态为“{r.statuses[pkg.status]}”，不能{d.title} / a package that is {pkg.status!r} cannot take "
            f"{d.title_en!r} (allowed from: {', '.join(d.from_statuses)})"
        )
    reason = (reason or "").strip() or None
    if d.reason_required and not reason:
        raise InvalidInput(f"“{d.title}”必须说明理由 / {d.title_en!r} needs a reason")
    before = {"status": pkg.status}
    forwarded = _forward(session, actor, instance, pkg, reason or "", at) if d.forward else None
    pkg.status, pkg.reason, pkg.decided_by, pkg.decided_at, pkg.updated_at = d.to, reason, actor.user_id, at, at
    facts: dict[str, Any] = {
        "reason": reason,
        "decided_at": at.isoformat(),
        "decided_by": {"name": instance.name, "level": instance.level},
    }
    if forwarded is not None:
        facts["forwarded"] = {"package_id": forwarded.package_id, "to_level": forwarded.receiver_level}
    receipt = _issue_receipt(session, instance, pkg, d.name, d.to, **facts)
    session.flush()
    after: dict[str, Any] = {
        "package_id": pkg.package_id,
        "case_no": pkg.case_no,
        "status": d.to,
        "sequence": pkg.receipt_seq,
    }
    if forwarded is not None:
        after["forwarded"] = {
            "package_id": forwarded.package_id,
            "to_level": forwarded.receiver_level,
            "sha256": forwarded.archive_sha256,
        }
    audit(session, actor.actor, f"filing.{d.name}", None, before, after, detail=reason)
    return pkg, receipt


def import_receipt(
    session: Session, actor: Principal, instance: Instance, data: bytes | dict[str, Any]
) -> FilingPackage:
    """Verify the higher level's receipt, update the sent package and pass the decision down to our own sender."""
    r = rules()
    permissions.require(actor, "filing.export")
    p = open_receipt(data, instance.registry)
    try:
        package_id, status, seq, level = str(p["package_id"]), p["status"], int(p["sequence"]), p["receiver_level"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"回执缺少字段 {exc} / the receipt lacks {exc}", failed="format") from exc
    if status not in r.statuses:
        raise InvalidInput(f"回执状态 {status!r} 未知 / unknown status {status!r} in the receipt", failed="format")
    pkg = _package(session, package_id, "sent", actor, lock=True)
    if (
        level != pkg.receiver_level
        or p.get("sender_name") != pkg.sender_name
        or (pkg.receiver_name is not None and p.get("receiver_name") != pkg.receiver_name)
    ):
        raise InvalidInput(
            f"回执与上报的报批包不符：报送至 {pkg.receiver_name or pkg.receiver_level}，回执来自 "
            f"{p.get('receiver_name')}（{level}）/ the receipt does not match the package sent: it went to "
            f"{pkg.receiver_name or pkg.receiver_level!r}, the receipt is from {p.get('receiver_name')!r} ({level!r})",
            failed="level",
        )
    if seq <= pkg.receipt_seq:
        raise Conflict(
            f"回执已导入或早于当前回执（序号 {seq}，当前 {pkg.receipt_seq}）/ the receipt was imported already or is "
            f"older than the current one (sequence {seq}, current {pkg.receipt_seq})"
        )
    before = {"status": pkg.status, "sequence": pkg.receipt_seq}
    doc = data if isinstance(data, dict) else json.loads(data)  # parsed once already by open_receipt
    pkg.status, pkg.receipt_seq, pkg.receipt = status, seq, doc
    pkg.receiver_name = p.get("receiver_name")
    pkg.reason = p.get("reason")
    pkg.decided_at = datetime.fromisoformat(p["decided_at"]) if p.get("decided_at") else None
    pkg.updated_at = records.now()
    session.flush()
    audit(
        session,
        actor.actor,
        "filing.receipt",
        pkg.case_id,
        before,
        {"package_id": pkg.package_id, "status": status, "sequence": seq, "receiver": pkg.receiver_name},
        detail=pkg.reason,
    )
    if pkg.forwarded_from is not None:
        _pass_down(session, actor, instance, pkg, p, doc)
    return pkg


def _pass_down(
    session: Session,
    actor: Principal,
    instance: Instance,
    sent: FilingPackage,
    payload: dict[str, Any],
    doc: dict[str, Any],
) -> None:
    """Give the sender of a package we passed on a receipt carrying the higher level's decision (and its receipt)."""
    received = session.get(FilingPackage, sent.forwarded_from, with_for_update=True)
    if received is None:
        return
    received.updated_at = records.now()
    _issue_receipt(
        session,
        instance,
        received,
        payload.get("decision") or "",
        payload["status"],
        reason=payload.get("reason"),
        decided_at=payload.get("decided_at"),
        decided_by=payload.get("decided_by"),
        upstream=[doc],
    )
    session.flush()
    audit(
        session,
        actor.actor,
        "filing.pass_down",
        None,
        None,
        {
            "package_id": received.package_id,
            "status": payload["status"],
            "sequence": received.receipt_seq,
            "decided_by": payload.get("decided_by"),
        },
        detail=payload.get("reason"),
    )


# --- views --------------------------------------------------------------------------------------------------------


def package_view(session: Session, pkg: FilingPackage, full: bool = False) -> dict[str, Any]:
    """Return a package as staff see it (without the archive's bytes); `full` adds the receiver's check report."""
    r = rules()
    receipt = (pkg.receipt or {}).get("payload") if pkg.receipt else None
    out: dict[str, Any] = {
        "package_id": pkg.package_id,
        "direction": pkg.direction,
        "case_id": pkg.case_id,
        "case_no": pkg.case_no,
        "kind": pkg.kind,
        "sender_name": pkg.sender_name,
        "sender_level": pkg.sender_level,
        "receiver_level": pkg.receiver_level,
        "receiver_name": pkg.receiver_name,
        "status": pkg.status,
        "status_title": r.statuses.get(pkg.status, pkg.status),
        "reason": pkg.reason,
        "decided_at": _iso(pkg.decided_at),
        "sender_verdict": pkg.sender_verdict,
        "sender_approval_level": pkg.sender_approval_level,
        "archive_sha256": pkg.archive_sha256,
        "archive_bytes": len(pkg.archive),
        "created_at": _iso(pkg.created_at),
        "receipt_sequence": pkg.receipt_seq,
        "agrees": pkg.agrees,
        "disagreements": pkg.disagreements,
        "receiver_check": receipt.get("receiver_check") if receipt and pkg.direction == "sent" else None,
        "decided_by": receipt.get("decided_by") if receipt else None,
        "receipt": receipt,
        "files": pkg.manifest.get("files", []),
        "layers": pkg.layers,
        "forwarded_from": None,
        "forwarded_to": None,
    }
    if pkg.forwarded_from is not None:
        inner = session.get(FilingPackage, pkg.forwarded_from)
        out["forwarded_from"] = inner.package_id if inner else None
    elif pkg.direction == "received":
        onward = session.scalar(select(FilingPackage.package_id).where(FilingPackage.forwarded_from == pkg.id))
        out["forwarded_to"] = onward
    if pkg.direction == "received" and pkg.check_run_id:
        run = session.get(CheckRun, pkg.check_run_id)
        if run is not None:
            out["check"] = {
                "id": run.id,
                "verdict": run.verdict,
                "layer_versions": run.layer_versions,
                "approval_level": (run.report.get("approval_level") or {}).get("level"),
            }
            if full:
                out["check"]["report"] = run.report
        allowed = [d for d in r.decisions.values() if pkg.status in d.from_statuses]
        out["allowed_decisions"] = [
            {"name": d.name, "title": d.title, "title_en": d.title_en, "reason_required": d.reason_required}
            for d in allowed
            if not d.forward or r.above(pkg.receiver_level) is not None
        ]
    if full and pkg.geom is not None:
        out["boundary"] = mapping(to_shape(pkg.geom))
    return out


def list_packages(
    session: Session, reader: Principal, direction: str | None = None, limit: int = 200
) -> list[FilingPackage]:
    """Return the packages the reader may see, newest first (sent, received or both)."""
    q = select(FilingPackage).where(permissions.package_visibility(reader))
    if direction:
        if direction not in ("sent", "received"):
            raise InvalidInput(
                f"direction 应为 sent 或 received / direction must be 'sent' or 'received' (got {direction!r})"
            )
        q = q.where(FilingPackage.direction == direction)
    return list(session.scalars(q.order_by(FilingPackage.id.desc()).limit(limit)))


def case_packages(session: Session, case_id: int) -> list[FilingPackage]:
    """Return the packages sent for a case, newest first."""
    return list(
        session.scalars(
            select(FilingPackage)
            .where(FilingPackage.direction == "sent", FilingPackage.case_id == case_id)
            .order_by(FilingPackage.id.desc())
        )
    )

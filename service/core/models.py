"""ORM models. The one-map layers come from the layer catalog; the cases and their paperwork are declared here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gis.catalog import CASE_MAP, STORAGE_SRID, catalog, metadata
from gis.check.rules import KINDS
from service.core.tables import read_table

catalog()  # registers every layer table on the shared metadata

ROLES = tuple(read_table("permissions.toml")["roles"])  # as the schema's check constraints hold them
CHANNELS = ("window", "online")
UPLOAD_PURPOSES = ("application", "supplement")
UPLOAD_STATES = ("received", "confirmed", "returned")
RESPONSE_KINDS = ("objection", "hearing")
MESSAGE_STATES = ("pending", "sent", "failed")


class Base(DeclarativeBase):
    """Declarative base sharing the one schema with the layer catalog."""

    metadata = metadata
    type_annotation_map = {dict[str, Any]: JSONB, list[Any]: JSONB}


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class User(Base):
    """A member of staff who logs in with a password."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str] = mapped_column(Text, server_default="")
    role: Mapped[str] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(Text)
    county: Mapped[str | None] = mapped_column(Text)
    """The county (GB/T 2260 code) whose cases this member of staff works on; none: every county of the instance."""
    password_hash: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    """Where the window's text messages reach them (new tasks, deadlines near); none: they get none."""
    must_change_password: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _now()


class CaseCounter(Base):
    """The last case number issued per kind and year; its row lock makes numbers gap-free under concurrency."""

    __tablename__ = "case_counters"

    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class Case(Base):
    """One application at the window, with its applicant, boundary, clocks and state."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="kind"),
        CheckConstraint(f"on_map IN {CASE_MAP!r}", name="on_map"),
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel"),
        UniqueConstraint("idempotency_key", name="uq_cases_idempotency_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_no: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    county: Mapped[str] = mapped_column(Text, index=True)
    """The county (GB/T 2260 code) the application was lodged in."""
    status: Mapped[str] = mapped_column(Text, index=True)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    idempotency_key: Mapped[str | None] = mapped_column(Text)

    applicant_name: Mapped[str] = mapped_column(Text)
    applicant_type: Mapped[str] = mapped_column(Text, server_default="person")
    id_number: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    township: Mapped[str | None] = mapped_column(Text)
    village: Mapped[str | None] = mapped_column(Text)
    household_id: Mapped[str | None] = mapped_column(Text, index=True)
    project_name: Mapped[str | None] = mapped_column(Text)
    industry: Mapped[str | None] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(Text)
    mineral: Mapped[str | None] = mapped_column(Text)
    depth_top: Mapped[float | None] = mapped_column(Float)
    depth_bottom: Mapped[float | None] = mapped_column(Float)
    green_channel: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    channel: Mapped[str] = mapped_column(Text, server_default="window")
    """How the application came: at the window, or sent online (网上申报) and taken in by a clerk."""
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When an application sent online was sent; its received_at is when the window took it in (clocks start)."""
    query_code_hash: Mapped[str] = mapped_column(Text)

    geom = mapped_column(Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=True)
    boundary_source: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    area_m2: Mapped[float | None] = mapped_column(Float)
    on_map: Mapped[str | None] = mapped_column(Text, server_default="pending")
    """What the case is on the one map: its applied boundary while `pending`, its land once `approved`, or nothing
    (refused, rejected, withdrawn): the layers cases_pending and cases_approved (gis/data/layers.toml) show it."""

    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    state_entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    check_override: Mapped[str | None] = mapped_column(Text)
    received_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    latest_check_id: Mapped[int | None] = mapped_column(BigInteger)
    statutory_due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    promised_due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    deadline_note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = _now()

    materials: Mapped[list[CaseMaterial]] = relationship(back_populates="case", order_by="CaseMaterial.position")
    tasks: Mapped[list[ReviewTask]] = relationship(back_populates="case", order_by="ReviewTask.id")
    pauses: Mapped[list[CasePause]] = relationship(back_populates="case", order_by="CasePause.id")


class CaseMaterial(Base):
    """One item of the kind's materials checklist, ticked when received."""

    __tablename__ = "case_materials"
    __table_args__ = (UniqueConstraint("case_id", "code", name="uq_case_materials_case_code"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    required: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    received: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    case: Mapped[Case] = relationship(back_populates="materials")


class ReviewTask(Base):
    """A department's part of the parallel review: the lead department or a co-handling one."""

    __tablename__ = "review_tasks"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    department: Mapped[str] = mapped_column(Text)
    lead: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(Text, server_default="open")
    opinion: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
    case: Mapped[Case] = relationship(back_populates="tasks")


class CasePause(Base):
    """An interval in which the case waited for the applicant's supplementary materials (clocks paused)."""

    __tablename__ = "case_pauses"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    paused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    case: Mapped[Case] = relationship(back_populates="pauses")


class CheckRun(Base):
    """A stored one-map check, with the layer versions it used, so every decision traces to its map."""

    __tablename__ = "check_runs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(Text)
    layer_versions: Mapped[dict[str, Any]] = mapped_column(JSONB)
    report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    trigger: Mapped[str] = mapped_column(Text, server_default="boundary")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _now()


class Notice(Base):
    """A one-time notice (一次性告知书) as issued: the missing materials and map findings, frozen."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _now()


class Rating(Base):
    """The applicant's star rating of a decided case (星级评价), one per case."""

    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stars: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()


class AuditEntry(Base):
    """An append-only record of who did what to which case; a trigger refuses UPDATE and DELETE."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = _now()
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text, index=True)
    case_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    detail: Mapped[str | None] = mapped_column(Text)


class CallbackDraw(Base):
    """A month's seeded random sample of decided cases for the satisfaction callback (万人评窗口)."""

    __tablename__ = "callback_draws"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    month: Mapped[str] = mapped_column(Text, unique=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    drawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _now()
    entries: Mapped[list[CallbackEntry]] = relationship(back_populates="draw", order_by="CallbackEntry.position")


class CallbackEntry(Base):
    """One sampled case of a callback draw, with the outcome of the call once made."""

    __tablename__ = "callback_entries"
    __table_args__ = (
        UniqueConstraint("draw_id", "case_id", name="uq_callback_entries_draw_case"),
        UniqueConstraint("draw_id", "position", name="uq_callback_entries_draw_position"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("callback_draws.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    called_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    called_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    draw: Mapped[CallbackDraw] = relationship(back_populates="entries")
    case: Mapped[Case] = relationship()


class FilingPackage(Base):
    """An upward filing package (报批材料包): sent from this instance, or received here from the level below."""

    __tablename__ = "filing_packages"
    __table_args__ = (
        CheckConstraint("direction IN ('sent', 'received')", name="direction"),
        UniqueConstraint("direction", "package_id", name="uq_filing_packages_direction_package_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    package_id: Mapped[str] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    case_no: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    sender_name: Mapped[str] = mapped_column(Text)
    sender_level: Mapped[str] = mapped_column(Text)
    receiver_level: Mapped[str] = mapped_column(Text)
    receiver_name: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONB)
    archive: Mapped[bytes] = mapped_column(LargeBinary)
    archive_sha256: Mapped[str] = mapped_column(Text)
    sender_verdict: Mapped[str | None] = mapped_column(Text)
    sender_approval_level: Mapped[str | None] = mapped_column(Text)
    check_run_id: Mapped[int | None] = mapped_column(ForeignKey("check_runs.id"))
    agrees: Mapped[bool | None] = mapped_column(Boolean)
    disagreements: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=True), nullable=True)
    layers: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    """Who signed each layer of the package (outermost first) and each passing level's opinion."""
    forwarded_from: Mapped[int | None] = mapped_column(ForeignKey("filing_packages.id"), index=True)
    """For a package this instance passed on upward: the received package it wraps."""
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    receipt_seq: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class SiteVisit(Base):
    """A site visit after a homestead's approval (选址踏勘, 放线, 竣工验收): when, who, what was found; the completion
    visit holds the as-built footprint and its comparison with the approved plot."""

    __tablename__ = "site_visits"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(Text)
    visited_on: Mapped[date] = mapped_column(Date)
    inspector: Mapped[str] = mapped_column(Text)
    findings: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(Text)
    as_built = mapped_column(Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=False), nullable=True)
    comparison: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _now()
    photos: Mapped[list[VisitPhoto]] = relationship(back_populates="visit", order_by="VisitPhoto.id")


class VisitPhoto(Base):
    """A photo taken at a site visit, kept in the database with its visit (one transaction, in every backup)."""

    __tablename__ = "visit_photos"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("site_visits.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    visit: Mapped[SiteVisit] = relationship(back_populates="photos")


class MiningRightEvent(Base):
    """One entry of a mining right's history: granted, renewed, changed, transferred or cancelled (the right itself
    is a feature of the mining_rights layer)."""

    __tablename__ = "mining_right_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    licence_no: Mapped[str] = mapped_column(Text, index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = _now()


class LandQuota(Base):
    """A township's new-construction-land quota of a year (新增建设用地计划指标), as loaded from a county's plan table."""

    __tablename__ = "land_quotas"
    __table_args__ = (CheckConstraint("quota_m2 >= 0", name="quota_m2"),)

    county: Mapped[str] = mapped_column(Text, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    township: Mapped[str] = mapped_column(Text, primary_key=True)
    quota_m2: Mapped[float] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(Text)
    loaded_at: Mapped[datetime] = _now()


class OffsetProject(Base):
    """A county's registered project that made new cultivated land (补充耕地项目), offsetting its conversions of 耕地
    (占补平衡)."""

    __tablename__ = "offset_projects"
    __table_args__ = (CheckConstraint("area_m2 > 0", name="area_m2"),)

    county: Mapped[str] = mapped_column(Text, primary_key=True)
    project_no: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    township: Mapped[str | None] = mapped_column(Text)
    area_m2: Mapped[float] = mapped_column(Float)
    grade: Mapped[int | None] = mapped_column(Integer)
    accepted_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(Text)
    loaded_at: Mapped[datetime] = _now()


class StaffSession(Base):
    """One login of a member of staff (a browser's cookie or an API client's token), checked on every request.

    A token or cookie names its session; the session ends at logout, and every session of a user ends when their
    password, role, department or active flag changes (service/access/auth.py).
    """

    __tablename__ = "staff_sessions"
    __table_args__ = (CheckConstraint("via IN ('web', 'api')", name="via"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    via: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(Text)


class AttemptCount(Base):
    """Attempts at a guarded door (a login, a query code) per scope and key within a window, shared by every worker."""

    __tablename__ = "attempt_counts"

    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class CaseUpload(Base):
    """A file an applicant sent online: a material of the checklist or a boundary file, with the application or as a
    supplement answering the one-time notice. Kept in the database (never under the web root, never served to the
    public), written in the transaction of what brought it."""

    __tablename__ = "case_uploads"
    __table_args__ = (
        CheckConstraint(f"purpose IN {UPLOAD_PURPOSES!r}", name="purpose"),
        CheckConstraint(f"status IN {UPLOAD_STATES!r}", name="status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
    purpose: Mapped[str] = mapped_column(Text)
    material_code: Mapped[str | None] = mapped_column(Text)
    """The checklist item it answers; none for a boundary file."""
    filename: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=STORAGE_SRID, spatial_index=False), nullable=True)
    """A boundary file's parcels as read when it arrived (a corrected boundary waits here for the clerk)."""
    boundary_source: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, server_default="received")
    note: Mapped[str | None] = mapped_column(Text)
    """Why the clerk returned it (the applicant reads it with the notice asking again)."""
    uploaded_at: Mapped[datetime] = _now()
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Announcement(Base):
    """A requisition's public announcement (征收土地预公告, 补偿安置方案公告), published when the case enters its
    state, open for objections (and hearing requests) until it ends."""

    __tablename__ = "announcements"
    __table_args__ = (UniqueConstraint("case_id", "stage", "starts_at", name="uq_announcements_case_stage_start"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()


class AnnouncementResponse(Base):
    """An objection (异议) or hearing request (听证申请) sent to an announcement, and the bureau's answer."""

    __tablename__ = "announcement_responses"
    __table_args__ = (CheckConstraint(f"kind IN {RESPONSE_KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxMessage(Base):
    """A text message to send (the outbox): written in the transaction of what it tells, sent once by the notifier
    (its key is unique), retried with backoff when the gateway fails."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(f"status IN {MESSAGE_STATES!r}", name="status"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    """What the message tells, to whom: the same event never makes a second message (and the gateway dedupes by it)."""
    event: Mapped[str] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(Text)
    """The phone number."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    """The member of staff it goes to; none for the applicant."""
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = _now()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

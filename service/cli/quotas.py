"""`landwindow quota …`: load the construction-land quotas and the offset projects, and show a year's ledger."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from service.cli.common import actor, fail, operator_command, operator_session, orm_session, out
from service.clocks.calendar import LOCAL_TZ
from service.core.audit import audit
from service.core.errors import DomainError
from service.core.settings import get_settings
from service.reports import quotas

quota_app = typer.Typer(help="指标台账 / quota and offset ledgers", no_args_is_help=True)
FileArg = Annotated[Path, typer.Argument(help="CSV（UTF-8/GBK）或 XLSX / a CSV (UTF-8 or GBK) or XLSX table")]


CountyOption = Annotated[
    str | None,
    typer.Option(
        "--county", help="县级行政区划代码（默认：本实例的县）/ the county's GB/T 2260 code (default: the profile's)"
    ),
]


def _load(path: Path, what: str, county: str | None) -> quotas.LoadResult:
    if not path.is_file():
        fail(f"{path}: 文件不存在 / no such file")
    code = county or get_settings().profile.admin_code
    if not re.fullmatch(r"\d{6}", code):
        fail(f"--county {code!r}: 应为 6 位行政区划代码 / must be a 6-digit GB/T 2260 code")
    with operator_session() as session:
        result = quotas.load_file(session, path, what, code)
        detail = {
            "file": path.name,
            "county": code,
            "rows": result.rows,
            "years": result.years,
            "total_m2": round(result.total_m2, 2),
        }
        audit(session, actor().actor, f"quota.load_{what}", None, None, detail)
    return result


@quota_app.command("load-plan")
@operator_command("quotas.manage")
def load_plan(path: FileArg, county: CountyOption = None) -> None:
    """载入新增建设用地计划指标（年度、乡镇、指标）/ Load the construction-land quotas (year, township, quota)."""
    r = _load(path, "plan", county)
    years = ", ".join(str(y) for y in r.years)
    out.print(f"{r.rows} quotas of {years} loaded ({r.total_m2 / 10000:,.4f} ha); those years' earlier rows replaced")


@quota_app.command("load-offsets")
@operator_command("quotas.manage")
def load_offsets(path: FileArg, county: CountyOption = None) -> None:
    """载入补充耕地项目（占补平衡）/ Load the registered offset projects of new cultivated land."""
    r = _load(path, "offsets", county)
    out.print(f"{r.rows} offset projects loaded ({r.total_m2:,.2f} m² of new cultivated land)")


@quota_app.command("ledger")
@operator_command("conversions.read")
def show_ledger(
    year: Annotated[int | None, typer.Option(help="年度 / year (default: this year)")] = None,
    county: Annotated[
        str | None, typer.Option("--county", help="只看一个县 / one county's ledger (default: every county's)")
    ] = None,
) -> None:
    """显示年度指标台账 / Show a year's quota ledger, the offset projects and the flagged conversions."""
    with orm_session() as session:
        try:
            book = quotas.ledger(session, quotas.parse_year(year, datetime.now(LOCAL_TZ).year), county)
        except DomainError as exc:
            fail(exc.message)
    table = Table(
        "county", "township", "quota ha", "used ha", "remaining ha", "cases", title=f"{book.year} 新增建设用地计划指标"
    )
    for q in book.quotas:
        d = q.to_dict()
        quota = "—" if d["quota_ha"] is None else f"{d['quota_ha']:.4f}"
        table.add_row(
            q.county, q.township or "—", quota, f"{d['used_ha']:.4f}", f"{d['remaining_ha']:.4f}", str(q.cases)
        )
    out.print(table)
    projects = Table(
        "county", "project", "accepted", "area m²", "used m²", "remaining m²", title="补充耕地项目 offset projects"
    )
    for o in book.offsets:
        d = o.to_dict()
        projects.add_row(
            d["county"],
            d["project_no"],
            d["accepted_on"],
            f"{d['area_m2']:,.2f}",
            f"{d['used_m2']:,.2f}",
            f"{d['remaining_m2']:,.2f}",
        )
    out.print(projects)
    for debit in book.flagged:
        for flag in debit.flags:
            out.print(f"[bold red]![/] {flag['message']} / {flag['message_en']}", highlight=False)

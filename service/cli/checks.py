"""`landwindow check`, `recheck` and `boundary`: the one-map check and boundary files on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.table import Table

from gis.boundary import BoundaryError, read_boundary
from gis.check import CheckInputError, boundary_geometry, run_check
from gis.check.rules import RuleError
from service.cases.checking import check_request, recheck_open_cases
from service.cli.common import (
    actor,
    county_extent,
    err,
    fail,
    operator_command,
    operator_session,
    out,
    running_database_url,
)
from service.core.settings import get_settings


@operator_command("check.recheck")
def recheck_cmd() -> None:
    """复核在办案件 / Re-run the one-map check of every open case and list the changed verdicts."""
    with operator_session() as session:
        total, changes = recheck_open_cases(session, actor().actor)
    out.print(f"{total} open cases rechecked; {len(changes)} verdicts changed")
    if changes:
        table = Table("case", "before", "after")
        for c in changes:
            table.add_row(c.case_no, c.before or "-", c.after)
        out.print(table)


STATUS_STYLE = {"pass": "green", "warn": "yellow", "block": "bold red"}


def check_cmd(
    path: Annotated[
        Path,
        typer.Argument(
            help="用地范围文件 / boundary file (TXT, corner string, CSV/XLSX point table, GeoJSON, SHP zip, GPKG, KML)"
        ),
    ],
    kind: Annotated[str, typer.Option("--kind", help="homestead | requisition | mining")],
    household: Annotated[str | None, typer.Option("--household", help="户号 / household id (homestead)")] = None,
    depth_top: Annotated[float | None, typer.Option(help="开采标高上 / top elevation (mining)")] = None,
    depth_bottom: Annotated[float | None, typer.Option(help="开采标高下 / bottom elevation (mining)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出完整JSON / print the full JSON report")] = False,
) -> None:
    """一张图核查 / Check a boundary against the one map (exit 0 pass/warn, 3 block, 2 bad input)."""
    try:
        boundary = read_boundary(path, extent=county_extent())
    except BoundaryError as exc:
        err.print(f"[bold red]{path.name}: 用地范围文件有误 / the boundary file has errors[/]")
        for issue in exc.issues:
            err.print(f"  {issue}", highlight=False)
        raise typer.Exit(2) from exc
    geometry = boundary_geometry([p.geometry for p in boundary.parcels])
    req = check_request(
        get_settings(), kind, geometry, household_id=household, depth_top=depth_top, depth_bottom=depth_bottom
    )
    try:
        with psycopg.connect(running_database_url()) as conn:
            report = run_check(conn, req)
    except (CheckInputError, RuleError) as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        for w in boundary.warnings:
            err.print(f"[yellow]warning[/] {w}", highlight=False)
        out.print(
            f"[bold]{kind}[/] · {report.area_m2:,.2f} m² · {report.area_mu:,.4f} 亩 · zone {report.zone} · "
            f"verdict [{STATUS_STYLE[report.verdict]}]{report.verdict}[/]"
        )
        table = Table("rule", "layer (version)", "status", "overlap m²", "亩", "message")
        for r in report.rules:
            table.add_row(
                r.rule,
                f"{r.layer} (v{r.layer_version})",
                f"[{STATUS_STYLE[r.status]}]{r.status}[/]",
                f"{r.overlap_m2:,.2f}",
                f"{r.overlap_mu:,.4f}",
                r.message,
            )
        out.print(table)
        lu = Table("地类 code", "name", "category", "m²", "亩", title="土地利用现状 Land use under the boundary")
        for a in report.landuse:
            lu.add_row(a.code, a.name, a.category, f"{a.area_m2:,.2f}", f"{a.area_mu:,.4f}")
        out.print(lu)
        if report.approval_level:
            out.print(
                f"审批层级 approval level: [bold]{report.approval_level['level_zh']}[/] "
                f"{'; '.join(report.approval_level['reasons'])}"
            )
        if report.compensation:
            out.print(f"补偿估算 compensation estimate: {report.compensation['total']:,.0f} 元")
    if report.verdict == "block":
        raise typer.Exit(3)

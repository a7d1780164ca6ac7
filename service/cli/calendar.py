"""`landwindow calendar …`: a year's holiday schedule and the open cases' deadlines."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from service.cli.common import actor, fail, operator_command, operator_session, out
from service.clocks.calendar import CalendarFileError, parse_year_file
from service.clocks.case_clocks import recompute_deadlines
from service.core.audit import audit
from service.core.settings import get_settings

calendar_app = typer.Typer(help="节假日安排 / holiday schedules and deadlines", no_args_is_help=True)


@calendar_app.command("load")
@operator_command("calendar.manage")
def calendar_load(
    path: Annotated[Path, typer.Argument(help="<year>.toml 节假日文件 / the year's holiday schedule")],
) -> None:
    """载入某年节假日安排并重算在办案件期限 / Load a year's holiday schedule and recompute open cases' deadlines."""
    try:
        year = parse_year_file(path).year
    except CalendarFileError as exc:
        fail(str(exc))
    folder = Path(get_settings().data_dir).expanduser() / "calendar"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, folder / f"{year}.toml")
    with operator_session() as session:
        changed = recompute_deadlines(session)
        detail = {"year": year, "file": str(path), "cases_changed": len(changed)}
        audit(session, actor().actor, "calendar.load", None, None, detail)
    out.print(f"{year} holiday schedule loaded; deadlines of {len(changed)} open cases recomputed")
    for case_no, old, new in changed[:50]:
        out.print(f"  {case_no}: promised {old} → {new}")


@calendar_app.command("recompute")
@operator_command("calendar.manage")
def calendar_recompute() -> None:
    """重算在办案件期限 / Recompute the deadlines of every open case."""
    with operator_session() as session:
        changed = recompute_deadlines(session)
    out.print(f"deadlines of {len(changed)} open cases changed")

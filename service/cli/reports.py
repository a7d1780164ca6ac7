"""The `landwindow report` and `landwindow callback` commands: monthly statistics and satisfaction callbacks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from service.cli.common import actor, fail, operator_command, operator_session
from service.core.errors import DomainError
from service.reports import callbacks
from service.reports.statistics import COLUMNS, CONVERSION_COLUMNS, Month, MonthlyStatistics, monthly_statistics

report_app = typer.Typer(help="统计报表 / monthly statistics", no_args_is_help=True)
callback_app = typer.Typer(help="万人评窗口回访 / satisfaction callbacks", no_args_is_help=True)
out = Console(width=None if sys.stdout.isatty() else 160)  # piped into a file: wide enough for every column


def _month(value: str) -> Month:

    try:
        return Month.parse(value)
    except DomainError as exc:
        fail(exc.message)


def _print_statistics(stats: MonthlyStatistics) -> None:
    # one column per kind, clerk and the total; one row per figure (the figures outnumber the columns)
    table = Table("", *(f.label for f in stats.rows), title=f"月度统计 Monthly statistics {stats.month}")
    for key, zh, en in COLUMNS:
        table.add_row(f"{zh} {en}", *("—" if getattr(f, key) is None else f"{getattr(f, key):g}" for f in stats.rows))
    out.print(table)
    conv = Table(*(zh for _, zh, _ in CONVERSION_COLUMNS), title="农用地转用面积（按乡镇）Converted area by township")
    for c in stats.conversions:
        conv.add_row(
            c.township,
            str(c.cases),
            f"{c.agricultural_m2:,.2f}",
            f"{c.agricultural_mu:,.4f}",
            f"{c.cultivated_m2:,.2f}",
            f"{c.cultivated_mu:,.4f}",
        )
    out.print(conv)


@report_app.command("monthly")
@operator_command("statistics.read")
def monthly(
    month: Annotated[str, typer.Option("--month", help="月份 / month, YYYY-MM")],
    fmt: Annotated[str, typer.Option("--format", help="table | csv | xlsx")] = "table",
    out_path: Annotated[Path | None, typer.Option("--out", help="输出文件 / write to this file")] = None,
) -> None:
    """月度统计 / The month's figures per kind and clerk, and the converted area by township."""

    m = _month(month)
    if fmt not in ("table", "csv", "xlsx"):
        fail(f"--format 应为 table、csv 或 xlsx（收到 {fmt!r}）/ --format must be table, csv or xlsx (got {fmt!r})")
    if fmt == "xlsx" and out_path is None:
        fail("xlsx 需要 --out 文件 / xlsx needs --out PATH")
    with operator_session() as session:
        stats = monthly_statistics(session, m)
    if fmt == "table":
        _print_statistics(stats)
    elif fmt == "csv":
        data = stats.csv_text()
        if out_path is None:
            sys.stdout.write(data)
        else:
            out_path.write_text(data, encoding="utf-8-sig")
    else:
        assert out_path is not None
        out_path.write_bytes(stats.xlsx_bytes())
    if out_path is not None:
        out.print(f"{m} → {out_path}")


def _print_draw(view: dict[str, object]) -> None:
    entries = view["entries"]
    assert isinstance(entries, list)
    table = Table(
        "#",
        "案件 case",
        "申请人 applicant",
        "电话 phone",
        "办结 decided",
        "回访结果 outcome",
        title=f"{view['month']} 回访样本 callback sample · seed {view['seed']} · {len(entries)} / {view['population']}",
    )
    for e in entries:
        table.add_row(
            str(e["position"]),
            e["case_no"],
            e["applicant_name"],
            e["phone"] or "—",
            (e["decided_at"] or "")[:10],
            e["outcome_zh"] or "—",
        )
    out.print(table)


@callback_app.command("draw")
@operator_command("callbacks.manage")
def callback_draw(
    month: Annotated[str, typer.Option("--month", help="月份 / month, YYYY-MM (ended)")],
    size: Annotated[
        int | None, typer.Option("--size", help="抽样件数 / cases to draw (default in statistics.toml)")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="随机种子 / seed (random and stored when omitted)")] = None,
) -> None:
    """抽取回访样本 / Draw the month's seeded random sample of decided cases (phones masked here)."""

    m = _month(month)
    with operator_session() as session:
        drawn, new = callbacks.draw(session, m, size, seed, by=actor())
        view = callbacks.draw_view(drawn, m)
    if not new:
        out.print(f"{m} 的样本已抽取，以下为原样本 / {m} was drawn already; the sample as drawn:")
    _print_draw(view)


@callback_app.command("record")
@operator_command("callbacks.manage")
def callback_record(
    case_no: Annotated[str, typer.Argument(help="案件编号 / case number")],
    outcome: Annotated[
        str, typer.Option("--outcome", help="satisfied | basically_satisfied | dissatisfied | unreachable | declined")
    ],
    note: Annotated[str | None, typer.Option("--note", help="回访记录 / what the applicant said")] = None,
) -> None:
    """登记回访结果 / Record the outcome of a sampled case's callback."""

    with operator_session() as session:
        entry = callbacks.record(session, case_no, outcome, note, by=actor())
    out.print(f"{case_no}: {entry.outcome}")

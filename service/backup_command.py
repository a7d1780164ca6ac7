"""The `landwindow backup` and `landwindow restore` commands (logical: pg_dump / pg_restore of the whole database)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.backup import BackupError, Result
from service.backup import backup as run_backup
from service.backup import restore as run_restore
from service.settings import get_settings, libpq_url

out = Console()
err = Console(stderr=True)


def _spinner(label: str) -> Progress:
    return Progress(SpinnerColumn(), TextColumn(label), TimeElapsedColumn(), console=err, transient=True)


def _print(verb: str, r: Result) -> None:
    s = r.summary
    out.print(f"[green]{verb}[/] {r.path} · {r.bytes / 2**20:,.1f} MiB · {r.seconds:.1f} s · schema {s.schema_revision or '-'}",
              highlight=False)  # fmt: skip
    table = Table("table", "rows")
    for name in ("public.cases", "public.audit_log", "public.check_runs", "public.case_materials", "public.users"):
        if name in s.tables:
            table.add_row(name.removeprefix("public."), f"{s.tables[name]:,}")
    for layer, (version, count) in s.layers.items():
        table.add_row(f"{layer} (v{version})", f"{count:,}")
    out.print(table)


def backup(
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="备份文件 / archive to write (default: <data dir>/backups/landwindow-<time>.dump)"),
    ] = None,
) -> None:
    """备份数据库 / Back up the whole database (cases, audit log, layers) as a pg_dump custom-format archive."""
    from service.cli import _fail, _url

    url = _url()
    if out_path is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out_path = Path(get_settings().data_dir).expanduser() / "backups" / f"landwindow-{stamp}.dump"
    try:
        with _spinner("pg_dump …"):
            result = run_backup(url, out_path)
    except BackupError as exc:
        _fail(str(exc))
    _print("backup written", result)


def restore(
    path: Annotated[Path, typer.Argument(help="备份文件 / a `landwindow backup` archive")],
    into: Annotated[
        str | None,
        typer.Option("--into", help="目标数据库URL（不存在则创建）/ target database URL, created when missing "
                                    "(default: the configured database)"),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="先删除目标库中的全部内容 / delete everything in the target first")
    ] = False,
) -> None:
    """恢复数据库 / Restore a backup into a fresh (or, with --force, emptied) database in one transaction."""
    from service.cli import _fail, _url

    url = libpq_url(into) if into else _url()
    try:
        with _spinner("pg_restore …"):
            result = run_restore(path, url, force=force)
    except BackupError as exc:
        _fail(str(exc))
    _print("restored", result)

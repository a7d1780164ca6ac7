"""`landwindow db …`, `migrate`, `backup` and `restore`: the embedded PostGIS, the schema and the whole database."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.cli.common import embedded_cluster, err, fail, operator_command, out, running_database_url
from service.core.backup import BackupError, Result
from service.core.backup import backup as run_backup
from service.core.backup import restore as run_restore
from service.core.cluster import ClusterError
from service.core.db import database_url, migrate
from service.core.settings import get_settings, libpq_url

db_app = typer.Typer(help="嵌入式数据库 / the embedded PostGIS database", no_args_is_help=True)


@db_app.command("start")
@operator_command("database.manage")
def db_start() -> None:
    """启动嵌入式数据库 / Create (first time) and start the embedded PostGIS on 127.0.0.1."""
    cluster = embedded_cluster()
    try:
        was_running = cluster.running()
        cluster.start()
    except (ClusterError, psycopg.Error) as exc:
        fail(str(exc))
    state = "already running" if was_running else "started"
    out.print(f"PostGIS {state} · 127.0.0.1:{cluster.port} · data {cluster.root}")


@db_app.command("stop")
@operator_command("database.manage")
def db_stop() -> None:
    """停止嵌入式数据库 / Stop the embedded PostGIS."""
    cluster = embedded_cluster()
    try:
        stopped = cluster.stop()
    except ClusterError as exc:
        fail(str(exc))
    out.print("stopped" if stopped else "not running")


@db_app.command("status")
def db_status() -> None:
    """数据库状态 / Show whether the embedded PostGIS exists and runs (exit 1 when not running)."""
    if not get_settings().embedded:
        out.print("external database (LANDWINDOW_DATABASE_URL)")
        return
    cluster = embedded_cluster()
    try:
        info = cluster.status()
    except ClusterError as exc:
        fail(str(exc))
    for k, v in info.items():
        out.print(f"{k:12} {v}")
    if not info["running"]:
        raise typer.Exit(1)


@db_app.command("url")
def db_url() -> None:
    """打印数据库连接串 / Print the database URL in force (for psql, ogr2ogr, tipg)."""
    try:
        print(database_url(get_settings()))
    except ClusterError as exc:
        fail(str(exc))


@operator_command("database.manage")
def migrate_cmd(revision: Annotated[str, typer.Argument(help="目标版本 / target revision")] = "head") -> None:
    """升级数据库结构 / Upgrade the schema to the newest revision (Alembic)."""
    url = running_database_url()
    try:
        migrate(url, revision)
    except Exception as exc:
        fail(f"迁移失败 / migration failed: {exc}")
    out.print(f"schema at {revision}")


def _spinner(label: str) -> Progress:
    return Progress(SpinnerColumn(), TextColumn(label), TimeElapsedColumn(), console=err, transient=True)


def _print(verb: str, r: Result) -> None:
    s = r.summary
    line = f"[green]{verb}[/] {r.path} · {r.bytes / 2**20:,.1f} MiB · {r.seconds:.1f} s · schema {s.schema_revision or '-'}"
    out.print(line, highlight=False)
    table = Table("table", "rows")
    for name in ("public.cases", "public.audit_log", "public.check_runs", "public.case_materials", "public.users"):
        if name in s.tables:
            table.add_row(name.removeprefix("public."), f"{s.tables[name]:,}")
    for layer, (version, count) in s.layers.items():
        table.add_row(f"{layer} (v{version})", f"{count:,}")
    out.print(table)


@operator_command("database.manage")
def backup(
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="备份文件 / archive to write (default: <data dir>/backups/landwindow-<time>.dump)"),
    ] = None,
) -> None:
    """备份数据库 / Back up the whole database (cases, audit log, layers) as a pg_dump custom-format archive."""
    url = running_database_url()
    if out_path is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out_path = Path(get_settings().data_dir).expanduser() / "backups" / f"landwindow-{stamp}.dump"
    try:
        with _spinner("pg_dump …"):
            result = run_backup(url, out_path)
    except BackupError as exc:
        fail(str(exc))
    _print("backup written", result)


@operator_command("database.manage")
def restore(
    path: Annotated[Path, typer.Argument(help="备份文件 / a `landwindow backup` archive")],
    into: Annotated[
        str | None,
        typer.Option(
            "--into",
            help="目标数据库URL（不存在则创建）/ target database URL, created when missing (default: the configured database)",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="先删除目标库中的全部内容 / delete everything in the target first")
    ] = False,
) -> None:
    """恢复数据库 / Restore a backup into a fresh (or, with --force, emptied) database in one transaction."""
    url = libpq_url(into) if into else running_database_url()
    try:
        with _spinner("pg_restore …"):
            result = run_restore(path, url, force=force)
    except BackupError as exc:
        fail(str(exc))
    _print("restored", result)

"""The `landwindow` command: the embedded database, migrations, layer imports, the sample county and the server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import psycopg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from gis.catalog import CatalogError, catalog
from gis.importer import ImportResult, LayerImportError, layer_versions, load, read
from service import backup_command, boundary_command, report_command
from service.audit import audit
from service.auth import add_user, demo_passwords_in_use, demo_users, ensure_demo_users, is_loopback, set_password
from service.cluster import ClusterError, EmbeddedCluster
from service.db import database_url, make_engine, migrate
from service.errors import DomainError
from service.filing_command import filing_app
from service.settings import get_settings

SAMPLE_COUNTY = Path(__file__).resolve().parent.parent / "sample_parcels" / "county.gpkg"

app = typer.Typer(
    help="土地窗口 Land Window — 县级自然资源窗口系统 / county land-resources service window.\n\n"
    "Every command honours LANDWINDOW_DATABASE_URL; without it the embedded PostGIS under .landwindow/ is used.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
)
db_app = typer.Typer(help="嵌入式数据库 / the embedded PostGIS database", no_args_is_help=True)
app.add_typer(db_app, name="db")
user_app = typer.Typer(help="用户管理 / staff accounts", no_args_is_help=True)
app.add_typer(user_app, name="user")
calendar_app = typer.Typer(help="节假日安排 / holiday schedules and deadlines", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")
app.command("boundary")(boundary_command.boundary)
app.command("backup")(backup_command.backup)
app.command("restore")(backup_command.restore)
app.add_typer(report_command.report_app, name="report")
app.add_typer(report_command.callback_app, name="callback")
app.add_typer(filing_app, name="filing")

out = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]错误 Error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _cluster() -> EmbeddedCluster:
    settings = get_settings()
    if not settings.embedded:
        _fail("LANDWINDOW_DATABASE_URL 已设置，系统使用外部数据库，不启动嵌入式数据库 / an external database is configured; "
              "the embedded cluster is not used")
    try:
        return EmbeddedCluster.from_settings(settings)
    except ClusterError as exc:
        _fail(str(exc))


def _url() -> str:
    settings = get_settings()
    try:
        url = database_url(settings)
        if settings.embedded and not EmbeddedCluster.from_settings(settings).running():
            _fail("嵌入式数据库未运行 / the embedded database is not running: run `landwindow db start` first")
        return url
    except ClusterError as exc:
        _fail(str(exc))


@db_app.command("start")
def db_start() -> None:
    """启动嵌入式数据库 / Create (first time) and start the embedded PostGIS on 127.0.0.1."""
    cluster = _cluster()
    try:
        was_running = cluster.running()
        cluster.start()
    except (ClusterError, psycopg.Error) as exc:
        _fail(str(exc))
    state = "already running" if was_running else "started"
    out.print(f"PostGIS {state} · 127.0.0.1:{cluster.port} · data {cluster.root}")


@db_app.command("stop")
def db_stop() -> None:
    """停止嵌入式数据库 / Stop the embedded PostGIS."""
    cluster = _cluster()
    try:
        stopped = cluster.stop()
    except ClusterError as exc:
        _fail(str(exc))
    out.print("stopped" if stopped else "not running")


@db_app.command("status")
def db_status() -> None:
    """数据库状态 / Show whether the embedded PostGIS exists and runs (exit 1 when not running)."""
    settings = get_settings()
    if not settings.embedded:
        out.print("external database (LANDWINDOW_DATABASE_URL)")
        return
    cluster = _cluster()
    try:
        info = cluster.status()
    except ClusterError as exc:
        _fail(str(exc))
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
        _fail(str(exc))


@app.command("migrate")
def migrate_cmd(
    revision: Annotated[str, typer.Argument(help="目标版本 / target revision")] = "head",
) -> None:
    """升级数据库结构 / Upgrade the schema to the newest revision (Alembic)."""
    url = _url()
    try:
        migrate(url, revision)
    except Exception as exc:
        _fail(f"迁移失败 / migration failed: {exc}")
    out.print(f"schema at {revision}")


def _print_result(r: ImportResult) -> None:
    out.print(
        f"[green]{r.layer}[/] version {r.version}: {r.loaded} features loaded, {r.feature_count} in the layer "
        f"({r.seconds:.1f} s)"
    )
    if r.repaired:
        out.print(f"[yellow]{len(r.repaired)} 个几何已修复 / invalid geometries repaired:[/]")
        for fid, why in r.repaired[:20]:
            out.print(f"  feature {fid}: {why}", highlight=False)
    if r.rejected:
        out.print(f"[red]{len(r.rejected)} 个要素被拒绝 / features rejected:[/]")
        for fid, why in r.rejected[:20]:
            out.print(f"  feature {fid}: {why}", highlight=False)


def _import(conn: psycopg.Connection, layer_name: str, path: Path, crs: int | None, replace: bool) -> ImportResult:
    source = read(path, layer_name, crs)
    with Progress(
        TextColumn(f"[bold]{layer_name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task("load", total=source.total)
        return load(conn, source, replace=replace, progress=lambda done, total: bar.update(task, completed=done, total=total))


@app.command("import")
def import_cmd(
    layer_name: Annotated[str, typer.Argument(metavar="LAYER", help="图层 / layer: " + ", ".join(catalog()))],
    path: Annotated[Path, typer.Argument(help="GeoPackage, Shapefile (.shp/.zip), GeoJSON or FlatGeobuf")],
    crs: Annotated[int | None, typer.Option("--crs", help="源坐标系EPSG / source EPSG when the file has none")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="替换整个图层 / replace the whole layer")] = False,
) -> None:
    """导入图层 / Import a layer file in one transaction (a failed import leaves the previous version)."""
    url = _url()
    try:
        with psycopg.connect(url) as conn:
            _print_result(_import(conn, layer_name, path, crs, replace))
    except (LayerImportError, CatalogError) as exc:
        _fail(str(exc))


@app.command("load-sample")
def load_sample(
    path: Annotated[Path, typer.Option(help="样例县 GeoPackage / the sample county")] = SAMPLE_COUNTY,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="仅当数据库为空时 / only when no layer is loaded")] = False,
) -> None:
    """载入样例县 / Load the synthetic sample county (every layer, replacing what is there)."""
    url = _url()
    try:
        with psycopg.connect(url) as conn:
            if if_empty and any(v["count"] for v in layer_versions(conn).values()):
                out.print("layers already loaded; sample county not loaded again")
                return
            for name in catalog():
                _print_result(_import(conn, name, path, None, True))
    except (LayerImportError, CatalogError) as exc:
        _fail(str(exc))


def _orm_session() -> Session:
    return Session(make_engine(_url(), pool_size=1))


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    role: Annotated[str, typer.Option("--role", help="clerk | reviewer | leader | planner | admin")],
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True, help="至少8位 / 8+ characters")],
    department: Annotated[str | None, typer.Option(help="审查股室 / department (reviewers)")] = None,
    name: Annotated[str, typer.Option("--name", help="显示名 / display name")] = "",
) -> None:
    """新增用户 / Create a member of staff."""
    with _orm_session() as session:
        try:
            user = add_user(session, username, role, password, department, name)
            audit(session, "cli", "user.create", None, None, {"username": username, "role": role})
            session.commit()
        except DomainError as exc:
            _fail(exc.message)
        out.print(f"user {user.username} ({user.role}) created")


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """修改密码 / Change a user's password."""
    with _orm_session() as session:
        try:
            set_password(session, username, password)
            audit(session, "cli", "user.passwd", None, None, {"username": username})
            session.commit()
        except DomainError as exc:
            _fail(exc.message)
    out.print(f"password of {username} changed")


@user_app.command("demo")
def user_demo() -> None:
    """创建演示用户 / Create the sample county's demo staff and print their passwords."""
    with _orm_session() as session:
        ensure_demo_users(session)
        session.commit()
    table = Table("username", "role", "department", "password", title="演示用户 Demo users (change before production)")
    for u in demo_users():
        table.add_row(u["username"], u["role"], u.get("department", ""), u["password"])
    out.print(table)


@app.command("recheck")
def recheck_cmd() -> None:
    """复核在办案件 / Re-run the one-map check of every open case and list the changed verdicts."""
    from service.cases import recheck_open_cases

    with _orm_session() as session:
        total, changes = recheck_open_cases(session, "cli")
        session.commit()
    out.print(f"{total} open cases rechecked; {len(changes)} verdicts changed")
    if changes:
        table = Table("case", "before", "after")
        for c in changes:
            table.add_row(c.case_no, c.before or "-", c.after)
        out.print(table)


STATUS_STYLE = {"pass": "green", "warn": "yellow", "block": "bold red"}


@app.command("check")
def check_cmd(
    path: Annotated[Path, typer.Argument(help="用地范围文件 / boundary file (TXT, corner string, GeoJSON, SHP zip, GPKG, KML)")],
    kind: Annotated[str, typer.Option("--kind", help="homestead | requisition | mining")],
    household: Annotated[str | None, typer.Option("--household", help="户号 / household id (homestead)")] = None,
    depth_top: Annotated[float | None, typer.Option(help="开采标高上 / top elevation (mining)")] = None,
    depth_bottom: Annotated[float | None, typer.Option(help="开采标高下 / bottom elevation (mining)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出完整JSON / print the full JSON report")] = False,
) -> None:
    """一张图核查 / Check a boundary against the one map (exit 0 pass/warn, 3 block, 2 bad input)."""
    import json

    from gis.boundary import BoundaryError, read_boundary
    from gis.check import CheckInputError, CheckRequest, boundary_geometry, run_check
    from gis.check.rules import RuleError

    try:
        boundary = read_boundary(path)
    except BoundaryError as exc:
        err.print(f"[bold red]{path.name}: 用地范围文件有误 / the boundary file has errors[/]")
        for issue in exc.issues:
            err.print(f"  {issue}", highlight=False)
        raise typer.Exit(2) from exc
    geometry = boundary_geometry([p.geometry for p in boundary.parcels])
    req = CheckRequest(kind=kind, geometry=geometry, household_id=household, depth_top=depth_top,
                       depth_bottom=depth_bottom, province=get_settings().province)  # fmt: skip
    try:
        with psycopg.connect(_url()) as conn:
            report = run_check(conn, req)
    except (CheckInputError, RuleError) as exc:
        _fail(str(exc))
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
                r.rule, f"{r.layer} (v{r.layer_version})", f"[{STATUS_STYLE[r.status]}]{r.status}[/]",
                f"{r.overlap_m2:,.2f}", f"{r.overlap_mu:,.4f}", r.message,
            )  # fmt: skip
        out.print(table)
        lu = Table("地类 code", "name", "category", "m²", "亩", title="土地利用现状 Land use under the boundary")
        for a in report.landuse:
            lu.add_row(a.code, a.name, a.category, f"{a.area_m2:,.2f}", f"{a.area_mu:,.4f}")
        out.print(lu)
        if report.approval_level:
            out.print(f"审批层级 approval level: [bold]{report.approval_level['level_zh']}[/] "
                      f"{'; '.join(report.approval_level['reasons'])}")  # fmt: skip
        if report.compensation:
            out.print(f"补偿估算 compensation estimate: {report.compensation['total']:,.0f} 元")
    if report.verdict == "block":
        raise typer.Exit(3)


@calendar_app.command("load")
def calendar_load(
    path: Annotated[Path, typer.Argument(help="<year>.toml 节假日文件 / the year's holiday schedule")],
) -> None:
    """载入某年节假日安排并重算在办案件期限 / Load a year's holiday schedule and recompute open cases' deadlines."""
    import shutil

    from service import clocks
    from service.cases import recompute_deadlines

    try:
        year = clocks.parse_year_file(path).year
    except clocks.CalendarFileError as exc:
        _fail(str(exc))
    folder = Path(get_settings().data_dir).expanduser() / "calendar"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, folder / f"{year}.toml")
    with _orm_session() as session:
        changed = recompute_deadlines(session)
        audit(session, "cli", "calendar.load", None, None, {"year": year, "file": str(path), "cases_changed": len(changed)})
        session.commit()
    out.print(f"{year} holiday schedule loaded; deadlines of {len(changed)} open cases recomputed")
    for case_no, old, new in changed[:50]:
        out.print(f"  {case_no}: promised {old} → {new}")


@calendar_app.command("recompute")
def calendar_recompute() -> None:
    """重算在办案件期限 / Recompute the deadlines of every open case."""
    from service.cases import recompute_deadlines

    with _orm_session() as session:
        changed = recompute_deadlines(session)
        session.commit()
    out.print(f"deadlines of {len(changed)} open cases changed")


@app.command("layers")
def layers_cmd() -> None:
    """图层列表 / List the layers with their versions and feature counts."""
    url = _url()
    with psycopg.connect(url) as conn:
        versions = layer_versions(conn)
    table = Table("layer", "title", "version", "features")
    for name, spec in catalog().items():
        table.add_row(name, f"{spec.title} {spec.title_en}", str(versions[name]["version"]), str(versions[name]["count"]))
    out.print(table)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址 / bind address")] = None,
    port: Annotated[int | None, typer.Option(help="端口 / port")] = None,
) -> None:
    """启动网站 / Serve the web app and API."""
    import uvicorn

    settings = get_settings()
    _url()
    h, p = host or settings.host, port or settings.port
    if not is_loopback(h):
        with _orm_session() as session:
            in_use = demo_passwords_in_use(session)
        if in_use:
            _fail(f"演示用户仍使用演示密码，不能在 {h} 上对外服务：{', '.join(in_use)}；请先用 `landwindow user passwd 用户名` "
                  f"修改密码，或只监听 127.0.0.1 / demo users still have their demo passwords, so the app will not listen on "
                  f"{h}: {', '.join(in_use)}. Change them with `landwindow user passwd NAME`, or bind to 127.0.0.1.")  # fmt: skip
    uvicorn.run("web.app:create_app", factory=True, host=h, port=p, log_level="info", proxy_headers=False)


def main() -> None:
    """Entry point used by `python -m service.cli`."""
    app(prog_name="landwindow")


if __name__ == "__main__":
    main()

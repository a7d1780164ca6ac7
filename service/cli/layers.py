"""`landwindow import`, `load-sample` and `layers`: the one map's layers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from gis.boundary import CountyExtent
from gis.catalog import CatalogError, all_layers, case_layers, catalog
from gis.importer import ImportResult, LayerImportError, layer_versions, load, plan_import, read
from service.cli.common import (
    database_if_running,
    err,
    fail,
    operator_command,
    orm_session,
    out,
    running_database_url,
)
from service.core.errors import DomainError
from service.core.profile import CHINA
from service.core.settings import get_settings

SAMPLE_COUNTY = Path(__file__).resolve().parents[2] / "sample_parcels" / "county.gpkg"


def _print_result(r: ImportResult) -> None:
    out.print(
        f"[green]{r.layer}[/] version {r.version}: {r.loaded} features loaded, {r.feature_count} in the layer "
        f"({r.seconds:.1f} s, county {r.county})"
    )
    for label, items in (
        ("[yellow]{n} 个几何已修复 / invalid geometries repaired:[/]", r.repaired),
        ("[red]{n} 个要素被拒绝 / features rejected:[/]", r.rejected),
    ):
        if items:
            out.print(label.format(n=len(items)))
            for fid, why in items[:20]:
                out.print(f"  feature {fid}: {why}", highlight=False)


def import_layer(
    conn: psycopg.Connection, layer_name: str, path: Path, crs: int | None, replace: bool, county: str | None = None
) -> ImportResult:
    """Load a file into one county's partition of a layer (the profile's county unless named) in one transaction with
    a progress bar; print what was loaded."""
    source = read(path, layer_name, crs)
    columns = (TextColumn(f"[bold]{layer_name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("load", total=source.total)
        result = load(
            conn,
            source,
            replace=replace,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            county=county or get_settings().profile.admin_code,
        )
    _print_result(result)
    return result


def _plan_extent() -> CountyExtent:
    """The county extent a dry run lists features outside of (all of China while it is not known yet)."""
    from service.cases.boundaries import county_extent  # the case modules load only when needed

    profile = get_settings().profile
    if profile.extent.source == "profile" or database_if_running() is None:
        return profile.extent.box or CHINA
    try:
        with orm_session() as session:
            return county_extent(session)
    except (DomainError, SQLAlchemyError):
        return profile.extent.box or CHINA


@operator_command("layers.manage")
def import_cmd(
    layer_name: Annotated[str, typer.Argument(metavar="LAYER", help="图层 / layer: " + ", ".join(catalog()))],
    path: Annotated[
        Path, typer.Argument(help="GeoPackage, FileGDB (.gdb), Shapefile (.shp/.zip), GeoJSON or FlatGeobuf")
    ],
    crs: Annotated[int | None, typer.Option("--crs", help="源坐标系EPSG / source EPSG when the file has none")] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="替换该县的整个图层 / replace the county's whole layer")
    ] = False,
    county: Annotated[
        str | None,
        typer.Option(
            "--county",
            help="县行政区划代码（默认为本实例档案的县）；只写入该县的分区 / the county's admin code (default: the "
            "profile's); only that county's partition is written",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="试运行：报告字段对应、坐标系、数量、无效几何及修复，不写入 / report the field mapping, CRS, counts, "
            "invalid geometries and repairs without writing (exit 2 when the import would be refused)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="试运行结果输出为JSON / print the dry run as JSON")] = False,
) -> None:
    """导入图层 / Import a layer file in one transaction (a failed import leaves the previous version)."""
    if as_json and not dry_run:
        fail("--json 只用于 --dry-run / --json goes with --dry-run")
    if dry_run:
        try:
            plan = plan_import(path, layer_name, crs, _plan_extent())
        except (LayerImportError, CatalogError) as exc:
            fail(str(exc))
        if as_json:
            print(json.dumps(plan.to_dict(), ensure_ascii=False, indent=2))
        else:
            for line in plan.lines():
                out.print(line, highlight=False, markup=False)
        if plan.refused:
            raise typer.Exit(2)
        return
    url = running_database_url()
    try:
        with psycopg.connect(url) as conn:
            import_layer(conn, layer_name, path, crs, replace, county)
    except (LayerImportError, CatalogError) as exc:
        fail(str(exc))


@operator_command("layers.manage")
def load_sample(
    path: Annotated[Path, typer.Option(help="样例县 GeoPackage / the sample county")] = SAMPLE_COUNTY,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="仅当数据库为空时 / only when no layer is loaded")
    ] = False,
) -> None:
    """载入样例县 / Load the synthetic sample county (every layer, replacing what is there)."""
    url = running_database_url()
    try:
        with psycopg.connect(url) as conn:
            if if_empty and any(v["count"] for v in layer_versions(conn).values()):
                out.print("layers already loaded; sample county not loaded again")
                return
            for name in catalog():
                import_layer(conn, name, path, None, True)
    except (LayerImportError, CatalogError) as exc:
        fail(str(exc))


def layers_cmd() -> None:
    """图层列表 / List the layers with their versions and feature counts (the layers of the cases last)."""
    with psycopg.connect(running_database_url()) as conn:
        versions = layer_versions(conn)
        rows = conn.execute("SELECT layer, version, feature_count FROM layer_versions").fetchall()
    versions.update({str(r[0]): {"version": int(r[1]), "count": int(r[2])} for r in rows if r[0] in case_layers()})
    table = Table("layer", "title", "version", "features")
    for name, spec in all_layers().items():
        v = versions.get(name, {"version": 0, "count": 0})
        table.add_row(name, f"{spec.title} {spec.title_en}", str(v["version"]), str(v["count"]))
    out.print(table)

"""`landwindow import`, `load-sample` and `layers`: the one map's layers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gis.catalog import CatalogError, catalog
from gis.importer import ImportResult, LayerImportError, layer_versions, load, read
from service.cli.common import err, fail, operator_command, out, running_database_url

SAMPLE_COUNTY = Path(__file__).resolve().parents[2] / "sample_parcels" / "county.gpkg"


def _print_result(r: ImportResult) -> None:
    out.print(
        f"[green]{r.layer}[/] version {r.version}: {r.loaded} features loaded, {r.feature_count} in the layer "
        f"({r.seconds:.1f} s)"
    )
    for label, items in (
        ("[yellow]{n} 个几何已修复 / invalid geometries repaired:[/]", r.repaired),
        ("[red]{n} 个要素被拒绝 / features rejected:[/]", r.rejected),
    ):
        if items:
            out.print(label.format(n=len(items)))
            for fid, why in items[:20]:
                out.print(f"  feature {fid}: {why}", highlight=False)


def _import(conn: psycopg.Connection, layer_name: str, path: Path, crs: int | None, replace: bool) -> ImportResult:
    source = read(path, layer_name, crs)
    columns = (TextColumn(f"[bold]{layer_name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("load", total=source.total)
        return load(
            conn, source, replace=replace, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )


@operator_command("layers.manage")
def import_cmd(
    layer_name: Annotated[str, typer.Argument(metavar="LAYER", help="图层 / layer: " + ", ".join(catalog()))],
    path: Annotated[Path, typer.Argument(help="GeoPackage, Shapefile (.shp/.zip), GeoJSON or FlatGeobuf")],
    crs: Annotated[int | None, typer.Option("--crs", help="源坐标系EPSG / source EPSG when the file has none")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="替换整个图层 / replace the whole layer")] = False,
) -> None:
    """导入图层 / Import a layer file in one transaction (a failed import leaves the previous version)."""
    url = running_database_url()
    try:
        with psycopg.connect(url) as conn:
            _print_result(_import(conn, layer_name, path, crs, replace))
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
                _print_result(_import(conn, name, path, None, True))
    except (LayerImportError, CatalogError) as exc:
        fail(str(exc))


def layers_cmd() -> None:
    """图层列表 / List the layers with their versions and feature counts."""
    with psycopg.connect(running_database_url()) as conn:
        versions = layer_versions(conn)
    table = Table("layer", "title", "version", "features")
    for name, spec in catalog().items():
        table.add_row(
            name, f"{spec.title} {spec.title_en}", str(versions[name]["version"]), str(versions[name]["count"])
        )
    out.print(table)

"""The `landwindow boundary` command: parse a boundary file, print it as GeoJSON or convert it to TXT / corner string."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from gis.boundary import BoundaryError, read_boundary, to_geojson, write_mining, write_txt
from service.cli.common import county_extent

OUTPUT_FORMATS = ("geojson", "txt", "mining", "mining-dms")
EXIT_PARSED = 0
EXIT_INVALID = 2


def boundary(
    path: Annotated[
        Path,
        typer.Argument(
            help="用地范围文件（界址点TXT、矿业权拐点串、坐标点表CSV/XLSX、GeoJSON、Shapefile压缩包、GeoPackage、KML）/ "
            "boundary file (界址点 TXT, mining corner string, CSV/XLSX point table: 点号,X,Y or lon/lat columns, "
            "one parcel or a 地块 column; GeoJSON, zipped Shapefile, GeoPackage, KML)",
            show_default=False,
        ),
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="输出格式：geojson（EPSG:4490经纬度）、txt（界址点坐标交换格式，GBK编码）、mining（投影拐点串）、"
            "mining-dms（度分秒拐点串）/ output: geojson (EPSG:4490 lon/lat), txt (exchange format, GBK bytes), "
            "mining (projected corner string), mining-dms (packed DMS corner string)",
        ),
    ] = "geojson",
    zone: Annotated[
        int | None,
        typer.Option(
            "--zone",
            help="3度带带号，Y坐标不带带号且文件未写带号时必填 / 3° zone, needed when Y has no prefix and the file gives none",
        ),
    ] = None,
) -> None:
    """解析或转换用地范围文件 / Parse a boundary file and print it (exit 0 parsed, warnings on stderr; 2 with the errors)."""
    if to not in OUTPUT_FORMATS:
        typer.echo(f"未知输出格式 / unknown output format {to!r}: {' | '.join(OUTPUT_FORMATS)}", err=True)
        raise typer.Exit(EXIT_INVALID)
    try:
        parsed = read_boundary(path, zone=zone, extent=county_extent())
    except BoundaryError as exc:
        typer.echo(f"{path.name}: 用地范围文件有误 / the boundary file has errors", err=True)
        for issue in exc.issues:
            typer.echo(f"  {issue.severity}: {issue}", err=True)
        raise typer.Exit(EXIT_INVALID) from exc
    for w in parsed.all_warnings:
        typer.echo(f"warning: {w}", err=True)
    if to == "geojson":
        typer.echo(json.dumps(to_geojson(parsed), ensure_ascii=False, indent=1))
    elif to == "txt":
        # the exchange file as survey software reads it: GBK bytes, CRLF line ends; redirect it to a file
        sys.stdout.buffer.write(write_txt(parsed))
        sys.stdout.buffer.flush()
    else:
        typer.echo(write_mining(parsed, dms=to == "mining-dms"))

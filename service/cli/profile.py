"""`landwindow profile …` and `landwindow init`: the county profile in force, a new county's profile, and taking a
new county from nothing to serving (database, schema, layers, first administrator, filing key)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.table import Table
from sqlalchemy import select

from gis.boundary import CountyExtent
from gis.catalog import CatalogError, catalog
from gis.check.rules import homestead_caps
from gis.importer import ImportPlan, LayerImportError, plan_import
from gis.vector import VectorFileError, list_layers
from service.access import permissions
from service.access.auth import add_user
from service.cli.common import database_if_running, err, fail, operator_command, orm_session, out, running_database_url
from service.cli.layers import import_layer
from service.core.audit import audit
from service.core.cluster import ClusterError, EmbeddedCluster
from service.core.db import migrate
from service.core.errors import DomainError
from service.core.models import User
from service.core.profile import CHINA, ProfileError, extent_in_force, parse_profile, profile_rows
from service.core.settings import get_settings
from service.filing.keys import generate_key, registry_entry

profile_app = typer.Typer(help="县域配置 / the county profile (LANDWINDOW_COUNTY_PROFILE)", no_args_is_help=True)

LAYER_SUFFIXES = (".gpkg", ".shp", ".zip", ".geojson", ".json", ".fgb", ".gdb")
COUNTY_SUFFIXES = ("自治县", "县", "区", "市", "旗")


@profile_app.command("show")
def show(as_json: Annotated[bool, typer.Option("--json", help="输出JSON / print JSON")] = False) -> None:
    """显示当前县域配置 / Print the county profile in force (and the extent in force when it comes from the townships)."""
    settings = get_settings()
    profile = settings.profile
    extent_note = None
    if profile.extent.source == "townships":
        extent_note = _townships_extent()
    if as_json:
        doc = {"file": profile.path, **profile.model_dump(), "overrides": settings.overrides()}
        if extent_note is not None:
            doc["extent_in_force"] = extent_note
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    table = Table("key", "value", title=f"县域配置 County profile: {profile.name} ({profile.admin_code})")
    for key, value in profile_rows(profile, settings.overrides()):
        table.add_row(key, value)
    if extent_note is not None:
        table.add_row("extent in force", str(extent_note))
    out.print(table)


def _townships_extent() -> object:
    """The extent in force from the townships layer, or why it is not known (the database may not run)."""
    settings = get_settings()
    url = database_if_running()
    if url is None:
        return "数据库未运行 / the database is not running"
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM townships) s"
            ).fetchone()
    except psycopg.Error as exc:
        return f"无法读取乡镇图层 / cannot read the townships layer: {exc}"
    try:
        e = extent_in_force(settings.profile, row)
    except ValueError as exc:
        return str(exc)
    return {"lon_min": e.lon_min, "lon_max": e.lon_max, "lat_min": e.lat_min, "lat_max": e.lat_max}


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string: JSON's escapes are TOML's


def profile_text(
    name: str,
    admin_code: str,
    province: str,
    city: str,
    prefix: str,
    level: str = "county",
    extent: tuple[float, float, float, float] | None = None,
    caps: tuple[float, float, str] | None = None,
) -> str:
    """Return a new county's profile with the offices and numbers named the usual way (edit them to the real ones)."""
    short = next((name[: -len(s)] for s in COUNTY_SUFFIXES if name.endswith(s) and len(name) > len(s)), name)
    bureau = f"{city}{name}自然资源局"
    lines = [
        f"# 县域配置 County profile of {city}{name}, written by `landwindow profile new`: check the offices and the",
        "# document numbers against the bureau's real ones. Every key is explained in the shipped profile",
        "# service/data/profiles/xianan.toml.",
        f"name = {_quote(name)}",
        f"admin_code = {_quote(admin_code)}",
        f"province = {_quote(province)}",
        f"city = {_quote(city)}",
        f"case_prefix = {_quote(prefix)}",
        "",
        "[extent]",
    ]
    if extent is None:
        lines += [
            'source = "townships"   # the loaded townships layer\'s box, widened by margin_deg',
            "margin_deg = 0.05",
        ]
    else:
        lon_min, lat_min, lon_max, lat_max = extent
        lines += [
            'source = "profile"',
            f"lon_min = {lon_min}",
            f"lon_max = {lon_max}",
            f"lat_min = {lat_min}",
            f"lat_max = {lat_max}",
        ]
    lines += [
        "",
        "[offices]",
        f"bureau = {_quote(bureau)}",
        f"window = {_quote(f'{name}政务服务中心 自然资源局窗口')}",
        f"government = {_quote(f'{name}人民政府')}",
        "",
        "[documents]",
        f"decision_number = {_quote(short + '自然资许〔{year}〕{seq}号')}",
        f"certificate_number = {_quote(short + '宅批〔{year}〕{seq}号')}",
        "reconsideration = "
        + _quote(
            "如不服本决定，可在收到本决定书之日起六十日内向{government}申请行政复议，或在六个月内依法向人民法院提起行政诉讼。"
        ),
        "reconsideration_en = "
        + _quote(
            "You may apply to {government} for administrative reconsideration within 60 days of receiving this "
            "decision, or sue in a people's court within six months."
        ),
        "",
        "[instance]",
        f"level = {_quote(level)}",
        f"name = {_quote(bureau)}",
    ]
    if caps is not None:
        lines += [
            "",
            "[homestead_caps]",
            f"cultivated_m2 = {caps[0]:g}",
            f"other_m2 = {caps[1]:g}",
            f"basis = {_quote(caps[2])}",
        ]
    return "\n".join(lines) + "\n"


@profile_app.command("new")
def new(
    path: Annotated[Path, typer.Argument(help="要写入的县域配置文件 / the profile file to write (.toml)")],
    name: Annotated[str, typer.Option("--name", help="县（区）名 / the county, e.g. 云岭县")],
    admin_code: Annotated[str, typer.Option("--admin-code", help="行政区划代码 / GB/T 2260 code, 6 digits")],
    province: Annotated[str, typer.Option("--province", help="省份简称 / province, e.g. 广东")],
    city: Annotated[str, typer.Option("--city", help="所属地级市 / the city above the county")],
    prefix: Annotated[str, typer.Option("--prefix", help="案件编号前缀 / case number prefix, e.g. YL")],
    level: Annotated[str, typer.Option("--level", help="county | city | province | ministry")] = "county",
    extent: Annotated[
        str | None,
        typer.Option(
            "--extent",
            help="经纬度范围 lon_min,lat_min,lon_max,lat_max；缺省取乡镇图层 / the lon/lat box; default: the townships layer",
        ),
    ] = None,
    caps: Annotated[
        str | None,
        typer.Option(
            "--homestead-caps",
            help="宅基地面积标准 耕地,其他,依据 / homestead caps: cultivated m²,other m²,legal basis "
            "(needed when homestead_caps.csv has no row for the province)",
        ),
    ] = None,
) -> None:
    """新县域配置 / Write a new county's profile (checked before it is written; an existing file is kept)."""
    box = None
    if extent is not None:
        try:
            lon_min, lat_min, lon_max, lat_max = (float(v) for v in extent.split(","))
        except ValueError:
            fail(f"--extent 应为 lon_min,lat_min,lon_max,lat_max / --extent must be four numbers: {extent!r}")
        box = (lon_min, lat_min, lon_max, lat_max)
    caps_value = None
    if caps is not None:
        parts = caps.split(",", 2)
        try:
            caps_value = (float(parts[0]), float(parts[1]), parts[2].strip())
        except (ValueError, IndexError):
            fail(f"--homestead-caps 应为 耕地,其他,依据 / --homestead-caps must be cultivated,other,basis: {caps!r}")
    elif not any(p == province for p, _ in homestead_caps()):
        fail(
            f"homestead_caps.csv 中没有{province}的宅基地面积标准，请用 --homestead-caps 给出 / no homestead caps for "
            f"{province} in gis/data/homestead_caps.csv: give --homestead-caps CULTIVATED,OTHER,BASIS"
        )
    text = profile_text(name, admin_code, province, city, prefix, level, box, caps_value)
    try:
        parse_profile(text, str(path))
    except ProfileError as exc:
        fail(str(exc))
    if path.exists():
        fail(f"{path} 已存在，不会覆盖 / {path} exists already and is not overwritten")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    except OSError as exc:
        fail(f"{path}: 无法写入 / cannot write: {exc.strerror}")
    out.print(f"profile of {name} written to {path}; use it with LANDWINDOW_COUNTY_PROFILE={path}", highlight=False)


# --- init ---------------------------------------------------------------------------------------------------------


def layer_files(source: Path) -> dict[str, Path]:
    """Return the catalog layers a folder or a multi-layer file holds, each with the file to import it from.

    In a folder a layer's file is named after the layer, one of its source layers or its title (乡镇.shp,
    DLTB.shp, 永久基本农田.gpkg); a GeoPackage or FileGDB holds them as layers so named.
    """
    specs = catalog()
    found: dict[str, Path] = {}
    if source.is_dir() and source.suffix.lower() != ".gdb":
        files = [p for p in sorted(source.iterdir()) if p.suffix.lower() in LAYER_SUFFIXES]
        for name, spec in specs.items():
            wanted = {name, *spec.source_layers, spec.title.lower()}
            match = next((p for p in files if p.stem.lower() in wanted), None)
            if match is not None:
                found[name] = match
        return found
    try:
        names = {n.lower() for n in list_layers(source)}
    except (VectorFileError, OSError) as exc:
        fail(str(exc))
    for name, spec in specs.items():
        if {name, *spec.source_layers} & names:
            found[name] = source
    return found


def _box(plan: ImportPlan, margin: float) -> CountyExtent | None:
    if plan.extent is None:
        return None
    x0, y0, x1, y1 = plan.extent
    return CountyExtent(x0 - margin, x1 + margin, y0 - margin, y1 + margin)


@operator_command("database.manage")
def init(
    layers: Annotated[
        Path,
        typer.Option(
            "--layers",
            help="图层文件夹，或含各图层的 GeoPackage / FileGDB / a folder of layer files, or one GeoPackage or FileGDB "
            "holding the layers (named after the catalog: townships, landuse or DLTB, basic_farmland …)",
        ),
    ],
    admin: Annotated[str, typer.Option("--admin", help="首个管理员用户名 / the first administrator")] = "admin",
    crs: Annotated[int | None, typer.Option("--crs", help="源坐标系EPSG / source EPSG when a file has none")] = None,
) -> None:
    """新县上线 / Take a new county from nothing to serving: database, schema, layers, first administrator, filing key.

    Every layer is dry-run first: if any would be refused, nothing is imported. Run it with the county's profile in
    force (LANDWINDOW_COUNTY_PROFILE); then `landwindow serve`.
    """
    settings = get_settings()
    profile = settings.profile
    out.print(f"[bold]{profile.city}{profile.name}[/] ({profile.admin_code}, {profile.province}) · {profile.path}")
    if settings.embedded:
        try:
            cluster = EmbeddedCluster.from_settings(settings)
            cluster.start()
        except (ClusterError, psycopg.Error) as exc:
            fail(str(exc))
        out.print(f"database: embedded PostGIS on 127.0.0.1:{cluster.port}")
    url = running_database_url()
    try:
        migrate(url)
    except Exception as exc:
        fail(f"迁移失败 / migration failed: {exc}")
    out.print("schema: migrated to head")

    found = layer_files(layers)
    if not found:
        fail(f"{layers}: 没有找到目录中的任何图层 / no catalog layer found ({', '.join(catalog())})")
    plans: dict[str, ImportPlan] = {}
    extent = profile.extent.box or CHINA
    order = sorted(found, key=lambda n: n != "townships")  # the townships first: they may give the county extent
    for name in order:
        try:
            plan = plan_import(found[name], name, crs, extent)
        except (LayerImportError, CatalogError) as exc:
            fail(str(exc))
        plans[name] = plan
        if name == "townships" and profile.extent.source == "townships":
            extent = _box(plan, profile.extent.margin_deg) or extent
        flag = " [red]将被拒绝 would be refused[/]" if plan.refused else ""
        out.print(
            f"  {name}: {plan.features} features, {plan.would_load} would load, {len(plan.rejected)} rejected, "
            f"{len(plan.outside_county)} outside the county · {plan.source_crs}{flag}",
            highlight=False,
        )
    refused = [n for n, p in plans.items() if p.refused]
    if refused:
        for n in refused:
            for line in plans[n].lines():
                err.print(line, highlight=False, markup=False)
        fail(
            f"图层 {', '.join(refused)} 将被拒绝，未导入任何图层 / {', '.join(refused)} would be refused: nothing imported"
        )
    missing = [n for n in catalog() if n not in found]
    if missing:
        err.print(
            f"[yellow]未提供的图层（核查将视为空）/ layers not given (the check sees them empty): {', '.join(missing)}"
        )
    with psycopg.connect(url) as conn:
        for name in order:
            try:
                import_layer(conn, name, found[name], crs, replace=True)
            except (LayerImportError, CatalogError) as exc:
                fail(str(exc))

    with orm_session() as session:
        admins = session.scalars(select(User).where(User.role == permissions.table().operator_role)).all()
        if admins:
            out.print(f"staff: {len(admins)} administrator(s) exist already; none created")
        else:
            password = secrets.token_urlsafe(12)
            try:
                add_user(session, admin, permissions.table().operator_role, password, None, "系统管理员")
                audit(session, "cli", "user.create", None, None, {"username": admin, "role": "admin"})
                session.commit()
            except DomainError as exc:
                fail(exc.message)
            out.print(f"staff: administrator [bold]{admin}[/] created, password [bold]{password}[/] (shown once)")

    key_file = settings.filing_key_file or settings.filing_dir / "ed25519.pem"
    if not key_file.exists():
        try:
            key = generate_key(key_file)
        except DomainError as exc:
            fail(exc.message)
        out.print(f"filing: signing key created at {key_file}; its key registry entry:", highlight=False)
        out.print(
            registry_entry(settings.instance_name, settings.instance_level, profile.admin_code, key.public_key()),
            highlight=False,
            markup=False,
        )
    out.print("[green]ready[/]: `landwindow user add NAME --role clerk` for the staff, then `landwindow serve`")

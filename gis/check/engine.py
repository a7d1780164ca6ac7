"""The one-map check: every rule of a kind evaluated against every layer in one set-based SQL statement."""

from __future__ import annotations

import asyncio
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import shapely
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from shapely.geometry import MultiPolygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from gis import landuse
from gis.boundary.geometry import as_multipolygon
from gis.catalog import STORAGE_SRID, any_layer, case_layers
from gis.check.report import (
    CheckReport,
    CompensationZone,
    FeatureHit,
    LandUseArea,
    OwnerArea,
    RuleResult,
)
from gis.check.rules import Rule, RuleSet, homestead_caps, homestead_caps_basis, ruleset
from gis.crs import epsg_3deg, m2_to_ha, m2_to_mu, zone_3deg

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
"""Lodging times without a zone are Beijing time, as the window's clock is."""


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=LOCAL_TZ)


class CheckInputError(ValueError):
    """The boundary or the options cannot be checked (empty, not polygonal, outside any zone)."""


@dataclass
class CheckRequest:
    """What to check: a boundary in EPSG:4490 (lon/lat) and the facts of the application."""

    kind: str
    geometry: BaseGeometry
    zone: int | None = None
    household_id: str | None = None
    depth_top: float | None = None
    depth_bottom: float | None = None
    lodged_at: datetime | None = None
    """When the application was lodged: cases lodged before it come first (none given: every pending case does)."""
    case_id: int | None = None
    """The case checked, which the layers of the cases leave out (it is never its own conflict)."""
    county: str | None = None
    """The county (GB/T 2260 code) the application is lodged in: the layers of the cases are compared within it
    (none: the cases of every county)."""
    on_date: date | None = None
    province: str | None = None
    """Selects the homestead area caps (homestead_caps.csv); a homestead check without one or caps is refused."""
    homestead_caps: HomesteadCaps | None = None
    """The place's own homestead caps (a county profile's); they take the province's place."""


@dataclass(frozen=True)
class HomesteadCaps:
    """A place's homestead area caps by land type (m²) and the rule they come from."""

    cultivated_m2: float
    other_m2: float
    basis: str = ""


def _layer_overlaps_sql(name: str, geometry: str | None = None) -> sql.Composable:
    """Per-feature overlaps of the boundary with one layer, as a JSON array (subdivided table when there is one)."""
    spec = any_layer(name)
    table = sql.Identifier(spec.name)
    # A feature wholly inside the boundary (tested in lon/lat against the boundary PostGIS prepares once) is its
    # own overlap: only features crossing the boundary's edge are cut, in the GK zone.
    cut = sql.SQL(
        "LATERAL (SELECT CASE WHEN ST_Within({g}, b.g) THEN ST_Transform({g}, b.srid) "
        "ELSE ST_CollectionExtract(ST_Intersection(ST_Transform({g}, b.srid), b.gk), 3) END AS ig) i"
    )
    attrs = sql.SQL(", ").join(
        sql.SQL("{}, p.{}").format(sql.Literal(c), sql.Identifier(c)) for c in ["id", *spec.column_names]
    )
    # OFFSET 0 keeps the planner from inlining the cut into both the area filter and the output (cutting twice).
    if spec.sub_table is not None:
        # pieces of one feature never overlap: their areas add up, and they are only collected for the map
        pieces = sql.SQL(
            "SELECT x.fid, x.ig, x.m2, json_build_object({attrs}) AS attrs "
            "FROM (SELECT s.feature_id AS fid, ST_Collect(i.ig) AS ig, sum(ST_Area(i.ig)) AS m2 "
            "FROM {sub} s, {cut} WHERE s.geom && b.g AND ST_Intersects(s.geom, b.g) GROUP BY s.feature_id OFFSET 0) x "
            "JOIN {t} p ON p.id = x.fid"
        ).format(sub=sql.Identifier(spec.sub_name), cut=cut.format(g=sql.SQL("s.geom")), t=table, attrs=attrs)
    else:
        # a layer of the cases holds the case checked too: it is left out before anything is cut, and so are the
        # cases of other counties (an instance may hold many; each county's cases are weighed on their own)
        itself = (
            sql.SQL(" AND p.id IS DISTINCT FROM b.case_id AND (b.county IS NULL OR p.county = b.county)")
            if spec.cases
            else sql.SQL("")
        )
        pieces = sql.SQL(
            "SELECT p.id AS fid, i.ig, ST_Area(i.ig) AS m2, json_build_object({attrs}) AS attrs "
            "FROM {t} p, {cut} WHERE p.geom && b.g AND ST_Intersects(p.geom, b.g){itself} OFFSET 0"
        ).format(t=table, cut=cut.format(g=sql.SQL("p.geom")), attrs=attrs, itself=itself)
    # Geometry goes back only where the map needs it: per feature when a rule picks features (validity,
    # depth ranges), all overlaps of the layer collected for a conflict (features of a layer do not overlap, so
    # a dissolve would only cost time), none for inventories (owners, land use, price zones). JSON, not jsonb:
    # the rows are built once and parsed once, a jsonb tree in between is pure cost.
    per_feature = sql.SQL(", 'geom', ST_AsGeoJSON(ST_Transform(x.ig, {srid}), 9)::json").format(
        srid=sql.Literal(STORAGE_SRID)
    )
    collected = sql.SQL(
        "ST_AsGeoJSON(ST_Transform(ST_Multi(ST_CollectionExtract(ST_Collect(x.ig), 3)), {srid}), 9)::json"
    ).format(srid=sql.Literal(STORAGE_SRID))
    return sql.SQL(
        """(SELECT json_build_object('features', coalesce(json_agg(json_build_object(
                'id', x.fid, 'm2', x.m2, 'attrs', x.attrs{per_feature})), '[]'::json), 'geom', {union})
              FROM ({pieces}) x
             WHERE x.m2 > %(tol)s)"""
    ).format(
        pieces=pieces,
        per_feature=per_feature if geometry == "feature" else sql.SQL(""),
        union=collected if geometry == "union" else sql.SQL("NULL"),
    )


def _outside_sql(name: str) -> sql.Composable:
    """Area (GK m²) of the boundary outside a layer, with the outside part."""
    spec = any_layer(name)
    src = sql.Identifier(spec.sub_name if spec.sub_table is not None else spec.name)
    return sql.SQL(
        """(SELECT jsonb_build_object('m2', ST_Area(d), 'geom', ST_AsGeoJSON(ST_Transform(d, {srid}), 9)::jsonb)
              FROM (SELECT ST_CollectionExtract(ST_Difference(b.gk, coalesce(
                       (SELECT ST_Union(ST_Transform(s.geom, b.srid)) FROM {src} s WHERE s.geom && b.g),
                       ST_SetSRID('POLYGON EMPTY'::geometry, b.srid))), 3) AS d) o)"""
    ).format(src=src, srid=sql.Literal(STORAGE_SRID))


_HOUSEHOLD_SQL = sql.SQL(
    """(SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'attrs', to_jsonb(p) - 'geom') ORDER BY id), '[]')
          FROM parcels p WHERE b.household IS NOT NULL AND household_id = b.household
           AND right_type = ANY(%(right_types)s::text[]))"""
)


def _household_cases_sql(name: str) -> sql.Composable:
    """The household's other cases on a layer of the cases, wherever they lie (one household, one homestead)."""
    spec = case_layers()[name]
    attrs = sql.SQL(", ").join(
        sql.SQL("{}, c.{}").format(sql.Literal(col), sql.Identifier(col)) for col in ["id", *spec.column_names]
    )
    return sql.SQL(
        """(SELECT coalesce(json_agg(json_build_object('id', c.id, 'm2', 0, 'attrs', json_build_object({attrs}))
                                     ORDER BY c.received_at, c.id), '[]'::json)
              FROM {t} c WHERE b.household IS NOT NULL AND c.household_id = b.household
               AND c.id IS DISTINCT FROM b.case_id AND (b.county IS NULL OR c.county = b.county))"""
    ).format(attrs=attrs, t=sql.Identifier(name))


def _geometry_need(rules: tuple[Rule, ...], layer_name: str) -> str | None:
    on_layer = [r for r in rules if r.layer == layer_name and r.predicate != "household_case"]
    if any(r.predicate in ("mining_conflict", "case_conflict") or r.options.get("valid_only") for r in on_layer):
        return "feature"
    if any(r.predicate == "overlap" for r in on_layer):
        return "union"
    return None


def _columns(rules: RuleSet, kind: str) -> dict[str, sql.Composable]:
    """Every figure the rules of a kind need, by column name (each a subquery correlated with the boundary b)."""
    kind_rules = rules.for_kind(kind)
    cols: dict[str, sql.Composable] = {}
    for n in dict.fromkeys([*rules.layers(kind), "landuse"]):
        cols[f"hits:{n}"] = _layer_overlaps_sql(n, _geometry_need(kind_rules, n))
    for n in dict.fromkeys(r.layer for r in kind_rules if r.predicate == "outside"):
        cols[f"outside:{n}"] = _outside_sql(n)
    if any(r.predicate == "household" for r in kind_rules):
        cols["household"] = _HOUSEHOLD_SQL
    for n in dict.fromkeys(r.layer for r in kind_rules if r.predicate == "household_case"):
        cols[f"household:{n}"] = _household_cases_sql(n)
    return cols


def column_groups(rules: RuleSet, kind: str) -> list[list[str]]:
    """Split a kind's figures into statements that can run at once: one per dense layer, the rest with the first."""
    key = (id(rules), kind)
    hit = _GROUPS.get(key)
    if hit is None or hit[0] is not rules:
        hit = _GROUPS[key] = (rules, _column_groups(rules, kind))
    return [list(g) for g in hit[1]]


def _column_groups(rules: RuleSet, kind: str) -> list[list[str]]:
    names = list(_columns(rules, kind))
    dense = [[n] for n in names if n.split(":", 1)[-1] in rules.split_layers and n.startswith("hits:")]
    rest = [n for n in names if not any(n in g for g in dense)]
    if not dense:
        return [names]
    dense[0] = rest + dense[0]
    return dense


# Composing a statement costs a millisecond or two of Python: each is composed once per rule set, kind and figures.
_STATEMENTS: dict[tuple[int, str, bool, tuple[str, ...] | None], tuple[RuleSet, bytes]] = {}
_GROUPS: dict[tuple[int, str], tuple[RuleSet, list[list[str]]]] = {}


def statement(rules: RuleSet, kind: str, batch: bool = False, only: Sequence[str] | None = None) -> bytes:
    """Return build_query's statement as bytes, composed once and kept."""
    key = (id(rules), kind, batch, tuple(only) if only is not None else None)
    hit = _STATEMENTS.get(key)
    if hit is None or hit[0] is not rules:  # the rule set is kept with it, so its id is never reused meanwhile
        hit = _STATEMENTS[key] = (rules, build_query(rules, kind, batch, only).as_bytes(None))
    return hit[1]


def build_query(rules: RuleSet, kind: str, batch: bool = False, only: Sequence[str] | None = None) -> sql.Composed:
    """Return the statement that gathers the figures the rules of a kind need (for one boundary or a batch).

    ``only`` limits it to some of the figures (see column_groups); area, zone and layer versions always come back.
    """
    parts: list[sql.Composable] = [
        sql.SQL("ST_Area(b.gk) AS area_m2"),
        sql.SQL("b.srid - 4488 AS zone"),
        sql.SQL("(SELECT coalesce(jsonb_object_agg(layer, version), '{}') FROM layer_versions) AS versions"),
    ]
    parts += [
        sql.SQL("{} AS {}").format(expr, sql.Identifier(name))
        for name, expr in _columns(rules, kind).items()
        if only is None or name in only
    ]
    # Overlaps are cut in the boundary's 3° GK zone, where survey edges are straight and areas are what
    # survey reports state; the && prefilter uses the lon/lat index. Every figure is a subquery correlated
    # with the boundary row b: one boundary (a check) or every open case of a kind (a recheck) alike.
    source: sql.Composable
    if batch:
        source = sql.SQL(
            "SELECT c.id AS case_id, c.received_at AS lodged, c.geom AS g, ST_Transform(c.geom, z.srid) AS gk, z.srid, "
            "c.household_id AS household, c.county "
            "FROM cases c CROSS JOIN LATERAL (SELECT 4488 + floor((ST_X(ST_Centroid(c.geom)) + 1.5) / 3)::int AS srid) z "
            "WHERE c.id = ANY(%(case_ids)s)"
        )
        parts[0:0] = [sql.SQL("b.case_id"), sql.SQL("b.lodged AS lodged_at")]
    else:
        source = sql.SQL(
            "SELECT g, ST_Transform(g, %(gk)s) AS gk, %(gk)s::int AS srid, %(household)s::text AS household, "
            "%(case_id)s::bigint AS case_id, %(county)s::text AS county "
            "FROM (SELECT ST_GeomFromWKB(%(wkb)s, {srid}) AS g) s"
        ).format(srid=sql.Literal(STORAGE_SRID))
    return sql.SQL("WITH b AS ({source}) SELECT {cols} FROM b").format(source=source, cols=sql.SQL(",\n  ").join(parts))


def _prepare(req: CheckRequest, rules: RuleSet) -> tuple[bytes, dict[str, Any], int]:
    _require_province(req, rules)
    geom = req.geometry
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise CheckInputError("边界为空或不是面 / the boundary is empty or not a polygon")
    if not geom.is_valid:
        raise CheckInputError(f"边界几何无效 / the boundary geometry is invalid: {shapely.is_valid_reason(geom)}")
    zone = req.zone or zone_3deg(geom.centroid.x)
    right_types: list[str] = []
    for r in rules.for_kind(req.kind):
        if r.predicate == "household":
            right_types = list(r.options.get("right_types", []))
    params: dict[str, Any] = {
        "wkb": shapely.to_wkb(geom),
        "gk": epsg_3deg(zone),
        "tol": rules.min_overlap_m2,
        "household": req.household_id,
        "case_id": req.case_id,
        "county": req.county,
        "right_types": right_types,
    }
    return statement(rules, req.kind), params, zone


def _require_province(req: CheckRequest, rules: RuleSet) -> None:
    if (
        req.province is None
        and req.homestead_caps is None
        and any(r.predicate == "area_cap" for r in rules.for_kind(req.kind))
    ):
        raise CheckInputError(
            "未指定省份，无法确定宅基地面积标准 / no province given: the homestead area cap is unknown"
        )


def run_check(conn: psycopg.Connection, req: CheckRequest, rules: RuleSet | None = None) -> CheckReport:
    """Check a boundary against the one map in one round trip and return the report."""
    rules = rules or ruleset()
    query, params, zone = _prepare(req, rules)
    cur = conn.execute(query, params)
    row = cur.fetchone()
    assert row is not None and cur.description is not None
    return interpret(req, dict(zip([d.name for d in cur.description], row, strict=True)), zone, rules)


async def run_check_async(
    conn: psycopg.AsyncConnection,
    req: CheckRequest,
    rules: RuleSet | None = None,
    pool: AsyncConnectionPool | None = None,
) -> CheckReport:
    """Async twin of run_check; with a pool, a large boundary's figures are gathered by several statements at once."""
    rules = rules or ruleset()
    query, params, zone = _prepare(req, rules)
    groups = column_groups(rules, req.kind)
    if pool is not None and len(groups) > 1 and _approx_area_m2(req.geometry) > rules.split_above_m2:

        async def gather(only: list[str]) -> dict[str, Any]:
            async with pool.connection() as other:
                return await _fetch_row(other, statement(rules, req.kind, only=only), params)

        rows = await asyncio.gather(
            _fetch_row(conn, statement(rules, req.kind, only=groups[0]), params), *(gather(g) for g in groups[1:])
        )
        # a re-import between the statements would mix two maps: then gather everything in one statement
        if all(r["versions"] == rows[0]["versions"] for r in rows):
            return interpret(req, {k: v for r in rows for k, v in r.items()}, zone, rules)
    return interpret(req, await _fetch_row(conn, query, params), zone, rules)


async def _fetch_row(conn: psycopg.AsyncConnection, query: bytes, params: dict[str, Any]) -> dict[str, Any]:
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    assert row is not None and cur.description is not None
    return dict(zip([d.name for d in cur.description], row, strict=True))


def _approx_area_m2(geom: BaseGeometry) -> float:
    """Area of a lon/lat geometry in m², good to a few per cent (enough to choose how to run the check)."""
    lat = math.radians(geom.centroid.y)
    return float(geom.area) * 111_320.0**2 * math.cos(lat)


def run_check_batch(
    conn: psycopg.Connection, kind: str, requests: dict[int, CheckRequest], rules: RuleSet | None = None
) -> dict[int, CheckReport]:
    """Check the stored boundaries of many cases of one kind in one statement (keys are case ids)."""
    rules = rules or ruleset()
    if not requests:
        return {}
    for req in requests.values():
        _require_province(req, rules)
    right_types: list[str] = []
    for r in rules.for_kind(kind):
        if r.predicate == "household":
            right_types = list(r.options.get("right_types", []))
    params: dict[str, Any] = {
        "case_ids": list(requests),
        "tol": rules.min_overlap_m2,
        "right_types": right_types,
    }
    cur = conn.execute(statement(rules, kind, batch=True), params)
    assert cur.description is not None
    names = [d.name for d in cur.description]
    out = {}
    for row in cur.fetchall():
        values = dict(zip(names, row, strict=True))
        case_id = int(values.pop("case_id"))
        req = requests[case_id]
        lodged = values.pop("lodged_at")
        if req.lodged_at is None or req.case_id is None:  # the stored case's own facts
            req = replace(req, lodged_at=req.lodged_at or lodged, case_id=case_id)
        out[case_id] = interpret(req, values, int(values.pop("zone")), rules)
    return out


# -- interpretation of the gathered figures (Python over the few features under the boundary) ----------------------


def _hits(raw: Any) -> list[dict[str, Any]]:
    return raw if isinstance(raw, list) else json.loads(raw or "[]")


def _union(hits: list[dict[str, Any]]) -> dict[str, Any] | None:
    geoms = [shape(h["geom"]) for h in hits if h.get("geom")]
    if not geoms:
        return None
    return dict(mapping(shapely.union_all(geoms)))


def _labels(hits: list[dict[str, Any]], spec_label: str | None) -> str:
    names = [str(h["attrs"].get(spec_label) or h["id"]) if spec_label else str(h["id"]) for h in hits]
    return "、".join(names[:10]) + ("…" if len(names) > 10 else "")


def _depths_intersect(a_top: Any, a_bottom: Any, b_top: Any, b_bottom: Any) -> bool:
    """Return whether two elevation ranges [bottom, top] share more than a single level; unknown ranges do."""
    if None in (a_top, a_bottom, b_top, b_bottom):
        return True
    lo1, hi1 = sorted((float(a_bottom), float(a_top)))
    lo2, hi2 = sorted((float(b_bottom), float(b_top)))
    return min(hi1, hi2) > max(lo1, lo2)


def _valid_on(attrs: dict[str, Any], on: date) -> bool:
    start, end = attrs.get("valid_from"), attrs.get("valid_to")
    return (start is None or date.fromisoformat(str(start)[:10]) <= on) and (
        end is None or date.fromisoformat(str(end)[:10]) >= on
    )


def _message(template: str, values: dict[str, Any]) -> str:
    try:
        return template.format(**values)
    except (KeyError, ValueError, IndexError):
        return template


def interpret(req: CheckRequest, row: dict[str, Any], zone: int, rules: RuleSet) -> CheckReport:
    """Turn the gathered figures into rule results, the land-use breakdown and the kind's extra figures."""
    on = req.on_date or date.today()
    versions = {k: int(v) for k, v in (row["versions"] or {}).items()}
    area_m2 = float(row["area_m2"])
    tol = rules.min_overlap_m2
    hits = {k.split(":", 1)[1]: _hits((v or {}).get("features")) for k, v in row.items() if k.startswith("hits:")}
    unions = {k.split(":", 1)[1]: (v or {}).get("geom") for k, v in row.items() if k.startswith("hits:")}

    lu = _landuse(hits.get("landuse", []))
    categories: dict[str, float] = defaultdict(float)
    for a in lu:
        categories[a.category] += a.area_m2
        if a.cultivated:
            categories["耕地"] += a.area_m2
    mapped = sum(a.area_m2 for a in lu)
    if area_m2 - mapped > tol:
        categories["unknown"] += area_m2 - mapped

    results: list[RuleResult] = []
    extra: dict[str, Any] = {}
    for r in rules.for_kind(req.kind):
        results.append(_evaluate(r, req, row, hits, unions, area_m2, categories, on, versions, tol, extra))

    statuses = {res.status for res in results}
    verdict = "block" if "block" in statuses else "warn" if "warn" in statuses else "pass"
    report = CheckReport(
        kind=req.kind,
        verdict=verdict,
        area_m2=area_m2,
        area_mu=m2_to_mu(area_m2),
        area_ha=m2_to_ha(area_m2),
        zone=zone,
        rules=results,
        landuse=lu,
        categories=dict(categories),
        layer_versions={n: versions.get(n, 0) for n in hits},
        homestead=extra.get("homestead"),
    )
    if req.kind == "requisition":
        report.approval_level = _approval_level(rules, hits, categories, area_m2)
        report.owners = _owners(hits.get("parcels", []))
        report.compensation = _compensation(hits.get("land_price_zones", []))
    return report


def _landuse(hits: list[dict[str, Any]]) -> list[LandUseArea]:
    by_code: dict[str, float] = defaultdict(float)
    for h in hits:
        code = landuse.normalize_code(h["attrs"].get("dlbm")) or "unknown"
        by_code[code] += float(h["m2"])
    out = []
    for code, m2 in sorted(by_code.items()):
        cls = landuse.lookup(code)
        out.append(
            LandUseArea(
                code=code,
                name=cls.name if cls else "未知地类",
                category=cls.category if cls else "unknown",
                cultivated=bool(cls and cls.cultivated),
                area_m2=m2,
                area_mu=m2_to_mu(m2),
            )
        )
    return out


def _other_cases(r: Rule, req: CheckRequest, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases under the boundary that conflict by the rule: of its kinds, lodged earlier, at intersecting depths."""
    lodged = _aware(req.lodged_at) if req.lodged_at else None
    earlier_only, depths = bool(r.options.get("earlier_only")), bool(r.options.get("depths"))
    return [
        h
        for h in hits
        if h["attrs"].get("kind") in r.options["kinds"]
        and not (earlier_only and lodged is not None and _lodged(h) >= lodged)
        and not (
            depths
            and not _depths_intersect(
                req.depth_top, req.depth_bottom, h["attrs"].get("depth_top"), h["attrs"].get("depth_bottom")
            )
        )
    ]


def _lodged(hit: dict[str, Any]) -> datetime:
    return _aware(datetime.fromisoformat(str(hit["attrs"]["received_at"])))


def _case_list(found: list[dict[str, Any]]) -> dict[str, str]:
    """Each case found, named with its lodging time (Beijing time) and its own overlap, in Chinese and English."""
    zh, en = [], []
    for h in found[:10]:
        no, at = h["attrs"].get("case_no") or h["id"], _lodged(h).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
        m2 = float(h.get("m2") or 0.0)
        zh.append(f"{no} 受理于 {at}" + (f"，重叠 {m2:.2f} 平方米" if m2 else ""))
        en.append(f"{no} lodged {at}" + (f", {m2:.2f} m² overlap" if m2 else ""))
    more = "…" if len(found) > 10 else ""
    return {"cases": "；".join(zh) + more, "cases_en": "; ".join(en) + more}


def _evaluate(
    r: Rule,
    req: CheckRequest,
    row: dict[str, Any],
    hits: dict[str, list[dict[str, Any]]],
    unions: dict[str, dict[str, Any] | None],
    area_m2: float,
    categories: dict[str, float],
    on: date,
    versions: dict[str, int],
    tol: float,
    extra: dict[str, Any],
) -> RuleResult:
    label = any_layer(r.layer).label
    found: list[dict[str, Any]] = []
    status = "pass"
    basis = r.basis
    overlap = 0.0
    values: dict[str, Any] = {"area_m2": area_m2}
    geometry: dict[str, Any] | None = None

    if r.predicate in ("overlap", "inventory"):
        found = hits.get(r.layer, [])
        if r.options.get("valid_only"):
            found = [h for h in found if _valid_on(h["attrs"], on)]
        overlap = sum(float(h["m2"]) for h in found)
        if r.predicate == "overlap" and overlap > tol:
            status = r.status
    elif r.predicate == "outside":
        out = row.get(f"outside:{r.layer}") or {"m2": 0.0, "geom": None}
        outside = float(out["m2"])
        values.update(outside_m2=outside, outside_mu=m2_to_mu(outside))
        overlap = outside
        if outside > float(r.options.get("min_outside_m2", tol)):
            status = r.status
            geometry = out.get("geom")
        found = hits.get(r.layer, [])
    elif r.predicate == "mining_conflict":
        found = [
            h
            for h in hits.get(r.layer, [])
            if _valid_on(h["attrs"], on)
            and _depths_intersect(
                req.depth_top, req.depth_bottom, h["attrs"].get("depth_top"), h["attrs"].get("depth_bottom")
            )
        ]
        overlap = sum(float(h["m2"]) for h in found)
        if overlap > tol:
            status = r.status
    elif r.predicate == "case_conflict":
        found = _other_cases(r, req, hits.get(r.layer, []))
        overlap = sum(float(h["m2"]) for h in found)
        values.update(_case_list(found))
        if overlap > tol:
            status = r.status
    elif r.predicate == "household_case":
        held = _hits(row.get(f"household:{r.layer}"))
        found = [h for h in held if h["attrs"].get("kind") in r.options["kinds"]]
        values.update(_case_list(found))
        if found:
            status = r.status
    elif r.predicate == "household":
        held = _hits(row.get("household"))
        values["count"] = len(held)
        found = [{"id": h["id"], "m2": 0.0, "attrs": h["attrs"]} for h in held]
        if req.household_id is None:
            status = "warn"
            values["note"] = "未提供户号 / no household id given"
        elif held:
            status = r.status
    elif r.predicate == "area_cap":
        cultivated = categories.get("耕地", 0.0) > tol
        land_type = "cultivated" if cultivated else "other"
        own = req.homestead_caps
        if own is not None:
            cap: float | None = own.cultivated_m2 if cultivated else own.other_m2
            basis = own.basis or basis
        else:
            cap = homestead_caps().get((req.province or "", land_type))
            basis = homestead_caps_basis().get(req.province or "", basis)
        values.update(
            cap_m2=cap or 0.0,
            land_type="使用耕地" if cultivated else "使用其他土地",
            land_type_en="cultivated land" if cultivated else "other land",
        )
        extra["homestead"] = {"cap_m2": cap, "land_type": land_type, "province": req.province, "area_m2": area_m2}
        if cap is not None and area_m2 > cap + tol:
            status = r.status
            overlap = area_m2 - cap

    values.setdefault("overlap_m2", overlap)
    values["overlap_mu"] = m2_to_mu(overlap)
    values["features"] = _labels(found, label)
    values.setdefault("count", len(found))
    if status != "pass" and geometry is None and r.predicate not in ("household", "household_case", "area_cap"):
        geometry = _union(found) if any(h.get("geom") for h in found) else unions.get(r.layer)
    if status == "pass":
        message = "通过" if r.predicate != "inventory" else f"涉及 {len(found)} 个要素"
        message_en = "pass" if r.predicate != "inventory" else f"{len(found)} features under the boundary"
        if r.predicate == "household" and req.household_id is None:
            message, message_en = "未提供户号", "no household id given"
    else:
        message, message_en = _message(r.message, values), _message(r.message_en, values)
        if r.predicate == "household" and req.household_id is None:
            message, message_en = (
                "未提供户号，无法核查一户一宅",
                "no household id given: one household, one homestead not checked",
            )
    return RuleResult(
        rule=r.id,
        title=r.title,
        layer=r.layer,
        layer_version=versions.get(r.layer, 0),
        status=status,
        overlap_m2=overlap,
        overlap_mu=m2_to_mu(overlap),
        message=message,
        message_en=message_en,
        basis=basis,
        features=[FeatureHit(h["id"], float(h["m2"]), h["attrs"]) for h in found],
        geometry=geometry,
    )


def _approval_level(
    rules: RuleSet, hits: dict[str, list[dict[str, Any]]], categories: dict[str, float], area_m2: float
) -> dict[str, Any]:
    t = rules.approval
    bf = sum(float(h["m2"]) for h in hits.get("basic_farmland", []))
    # Basic farmland lies (almost) wholly on cultivated land, so cultivated land outside it is the difference.
    cultivated_other = max(0.0, categories.get("耕地", 0.0) - bf)
    other = max(0.0, area_m2 - categories.get("耕地", 0.0))
    reasons = []
    if bf > max(t.basic_farmland_m2, rules.min_overlap_m2):
        reasons.append(f"占用永久基本农田 {bf:.2f} 平方米 / takes {bf:.2f} m² of permanent basic farmland")
    if cultivated_other > t.cultivated_ha * 10000:
        reasons.append(f"永久基本农田以外的耕地 {m2_to_ha(cultivated_other):.4f} 公顷超过 {t.cultivated_ha:g} 公顷")
    if other > t.other_ha * 10000:
        reasons.append(f"其他土地 {m2_to_ha(other):.4f} 公顷超过 {t.other_ha:g} 公顷")
    return {
        "level": "state_council" if reasons else "province",
        "level_zh": "国务院" if reasons else "省级人民政府",
        "reasons": reasons,
        "basic_farmland_m2": bf,
        "cultivated_other_m2": cultivated_other,
        "other_m2": other,
        "basis": t.basis,
    }


def _owners(hits: list[dict[str, Any]]) -> list[OwnerArea]:
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
    for h in hits:
        groups[(h["attrs"].get("owner") or "未登记", h["attrs"].get("owner_kind"))].append(h)
    out = []
    for (owner, kind), hs in sorted(groups.items(), key=lambda kv: -sum(float(h["m2"]) for h in kv[1])):
        m2 = sum(float(h["m2"]) for h in hs)
        parcels = [
            {
                "id": h["id"],
                "parcel_no": h["attrs"].get("parcel_no"),
                "right_type": h["attrs"].get("right_type"),
                "overlap_m2": float(h["m2"]),
            }
            for h in hs
        ]
        out.append(OwnerArea(owner=owner, owner_kind=kind, area_m2=m2, area_mu=m2_to_mu(m2), parcels=parcels))
    return out


def _compensation(hits: list[dict[str, Any]]) -> dict[str, Any]:
    zones = []
    for h in sorted(hits, key=lambda h: str(h["attrs"].get("zone_no"))):
        a = h["attrs"]
        mu = m2_to_mu(float(h["m2"]))
        price = float(a.get("price_per_mu") or 0.0)
        amount = mu * price
        zones.append(
            CompensationZone(
                zone_no=str(a.get("zone_no")),
                price_per_mu=price,
                area_m2=float(h["m2"]),
                area_mu=mu,
                amount=amount,
                land_compensation=amount * float(a.get("land_share") or 0.0),
                resettlement=amount * float(a.get("resettlement_share") or 0.0),
            )
        )
    return {"zones": zones, "total": sum(z.amount for z in zones), "currency": "CNY"}


def boundary_geometry(parts: Sequence[BaseGeometry]) -> MultiPolygon:
    """Return the union of a boundary's parcels as one MultiPolygon (what the check runs on)."""
    return as_multipolygon(shapely.union_all(list(parts)))

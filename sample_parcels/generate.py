"""Generate the synthetic sample county: a seeded, vectorised one map at Xian'an district's real location.

    python sample_parcels/generate.py                       # the committed sample (5 000 parcels)
    python sample_parcels/generate.py --parcels 1000000 --out bench/data/county_1000k.gpkg

Everything is built in the CGCS2000 3° Gauss-Krüger zone 38 (EPSG:4526, metres, zone-prefixed eastings) and written
in EPSG:4490 lon/lat, one GeoPackage layer per catalog layer with the catalog's column names. The shapes are
analytic (a wobbly county outline, hills in the east, a town, a river and roads) so that the same seed always gives
the same county, and the telling places in anchors.json are exact by construction.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping

HERE = Path(__file__).resolve().parent
DEFAULT_SEED = 20261122
GK = 4526
STORAGE = 4490
ADMIN = "421202"  # 咸安区

# The county in zone 38 metres: about 114.10–114.70°E, 29.65–30.05°N.
X_MIN, X_MAX, Y_MIN, Y_MAX = 38_510_500.0, 38_567_000.0, 3_282_000.0, 3_325_200.0
CX, CY = (X_MIN + X_MAX) / 2, (Y_MIN + Y_MAX) / 2
TOWN = (38_530_922.0, 3_303_528.0)  # 温泉, 114.32°E 29.85°N
HILLS = (38_556_000.0, 3_296_000.0)  # 大幕山, east of the district

TOWNSHIPS = [
    ("温泉街道", (38_530_900, 3_303_500)), ("浮山街道", (38_535_500, 3_309_500)), ("永安街道", (38_526_500, 3_299_000)),
    ("向阳湖镇", (38_516_000, 3_317_500)), ("官埠桥镇", (38_522_500, 3_313_000)), ("横沟桥镇", (38_541_000, 3_319_000)),
    ("贺胜桥镇", (38_526_000, 3_321_500)), ("双溪桥镇", (38_538_500, 3_289_000)), ("马桥镇", (38_528_000, 3_288_500)),
    ("桂花镇", (38_548_500, 3_285_500)), ("高桥镇", (38_547_000, 3_306_000)), ("大幕乡", (38_559_500, 3_297_500)),
]  # fmt: skip
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱覃武戴孔汤庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍申尤毕聂焦向柳邢骆岳齐沿梅莫庄辛管祝左涂谷祁时舒耿牟卜路詹关苗凌费纪靳盛童欧甄项曲成游阳裴席卫查屈鲍位覃霍翁隋植甘景薄单包司柏宁柯阮桂闵欧阳解强")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬斌鹏辉建国建华志强永红春梅海燕小红金凤德明文华")
VILLAGE_NAMES = list("张李王刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任")
VILLAGE_SUFFIX = ["家村", "家湾村", "家畈村", "铺村", "桥村", "岭村", "垴村", "港村"]


def wobbly(cx: float, cy: float, r: float, rng: np.random.Generator, n: int = 180, amp: float = 0.18) -> Polygon:
    """A closed star-shaped polygon with a few smooth harmonics (no self-intersections)."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rr = np.full(n, float(r))
    for k in (2, 3, 5, 7):
        rr *= 1 + amp / k * np.sin(k * a + rng.uniform(0, 2 * np.pi))
    return Polygon(np.column_stack([cx + rr * np.cos(a), cy + rr * np.sin(a)]))


def county_outline(rng: np.random.Generator) -> Polygon:
    """The district: a wobbly outline clipped to its bounding box."""
    shape = wobbly(CX, CY, 27_000, rng, n=360, amp=0.22)
    return shapely.intersection(shape, box(X_MIN, Y_MIN, X_MAX, Y_MAX))


def river_line() -> LineString:
    """A meandering river across the plain from the lake in the north-west to the hills."""
    xs = np.linspace(X_MIN - 1000, X_MAX - 12_000, 400)
    ys = 3_311_000 - (xs - X_MIN) * 0.28 + 1800 * np.sin((xs - X_MIN) / 4200) + 600 * np.sin((xs - X_MIN) / 1100)
    return LineString(np.column_stack([xs, ys]))


def road_lines() -> list[LineString]:
    """A national road and a county road through the town."""
    return [
        LineString([(X_MIN - 500, 3_296_500), (TOWN[0], TOWN[1] - 300), (X_MAX + 500, 3_318_000)]),
        LineString([(TOWN[0] - 200, Y_MIN - 500), (TOWN[0] + 400, TOWN[1]), (TOWN[0] - 6000, Y_MAX + 500)]),
    ]


def lattice(outline: Polygon, n_cells: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Jittered quadrilateral cells tiling the outline's bounding box; return (polygons, spacing)."""
    minx, miny, maxx, maxy = outline.bounds
    spacing = math.sqrt(outline.area / n_cells)
    nx, ny = int((maxx - minx) / spacing) + 2, int((maxy - miny) / spacing) + 2
    gx, gy = np.meshgrid(minx + np.arange(nx + 1) * spacing, miny + np.arange(ny + 1) * spacing)
    # jitter below a third of the spacing keeps every quadrilateral convex and the tiling exact
    jx = gx + rng.uniform(-0.28, 0.28, gx.shape) * spacing
    jy = gy + rng.uniform(-0.28, 0.28, gy.shape) * spacing
    i, j = np.meshgrid(np.arange(nx), np.arange(ny))
    i, j = i.ravel(), j.ravel()
    corners = [(j, i), (j, i + 1), (j + 1, i + 1), (j + 1, i), (j, i)]
    coords = np.stack([np.stack([jx[a, b], jy[a, b]], axis=-1) for a, b in corners], axis=1)
    return shapely.polygons(coords), spacing


def names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Synthetic Chinese personal names."""
    s = rng.choice(SURNAMES, n)
    g1 = rng.choice(GIVEN, n)
    g2 = np.where(rng.random(n) < 0.6, rng.choice(GIVEN, n), "")
    return np.char.add(np.char.add(s, g1), g2)


def classify(x: np.ndarray, y: np.ndarray, hills: Polygon, town: Polygon, rng: np.random.Generator) -> np.ndarray:
    """GB/T 21010 codes of cells from where they lie: forest in the hills, town land, paddy in the plain."""
    n = len(x)
    u = rng.random(n)
    code = np.where(u < 0.62, "0101", np.where(u < 0.76, "0103", np.where(u < 0.82, "0201", np.where(u < 0.90, "1104", np.where(u < 0.93, "1006", np.where(u < 0.96, "0307", "1202"))))))
    in_hills = shapely.contains_xy(hills, x, y)
    hv = rng.random(n)
    hill_code = np.where(hv < 0.55, "0301", np.where(hv < 0.72, "0305", np.where(hv < 0.82, "0307", np.where(hv < 0.90, "0202", np.where(hv < 0.94, "0301K", "0103")))))
    code = np.where(in_hills, hill_code, code)
    in_town = shapely.contains_xy(town, x, y)
    tv = rng.random(n)
    town_code = np.where(tv < 0.55, "0701", np.where(tv < 0.70, "05H1", np.where(tv < 0.82, "0601", np.where(tv < 0.90, "08H2", np.where(tv < 0.95, "1004", "0810")))))
    return np.where(in_town, town_code, code)  # fmt: skip


def voronoi_partition(outline: Polygon, seeds: list[tuple[float, float]]) -> list[Polygon]:
    """Voronoi cells of seeds clipped to the outline, in seed order."""
    pts = shapely.multipoints([Point(p) for p in seeds])
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=outline.buffer(5000)))
    out = []
    for p in seeds:
        cell = next(c for c in cells if c.contains(Point(p)))
        out.append(shapely.intersection(cell, outline))
    return out


def rect(cx: float, cy: float, w: float, h: float, angle: float = 0.0) -> Polygon:
    """A w×h rectangle centred at (cx, cy), rotated by angle radians."""
    c, s = math.cos(angle), math.sin(angle)
    pts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return Polygon([(cx + px * c - py * s, cy + px * s + py * c) for px, py in pts])


def multi(g: shapely.Geometry) -> MultiPolygon:
    """Polygonal part of a geometry as a MultiPolygon."""
    parts = [p for p in shapely.get_parts(g) if isinstance(p, Polygon) and not p.is_empty]
    return MultiPolygon(parts)


def generate(out: Path, parcels: int = 5000, seed: int = DEFAULT_SEED, anchors_out: Path | None = None) -> dict[str, int]:
    """Write the county GeoPackage (and anchors.json); return the feature count per layer."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    outline = county_outline(rng)
    hills = shapely.intersection(wobbly(HILLS[0], HILLS[1], 11_000, rng, amp=0.25), outline)
    redline = shapely.intersection(wobbly(HILLS[0] + 1500, HILLS[1] - 500, 6_500, rng, amp=0.2), hills)
    town = wobbly(TOWN[0], TOWN[1], 2_600, rng, amp=0.15)
    urban_boundary = wobbly(TOWN[0] + 300, TOWN[1] + 200, 4_200, rng, amp=0.12)
    river = shapely.intersection(river_line().buffer(45, quad_segs=4), outline)
    roads = shapely.intersection(shapely.union_all([r.buffer(12, cap_style="flat") for r in road_lines()]), outline)
    roads = shapely.difference(roads, river)  # where a road crosses the river, the patch is the river's

    # Villages: centres in the plain, outside the town; a vacant corner left in the first one.
    n_villages = int(np.clip(parcels // 150, 30, 3000))
    vx = rng.uniform(X_MIN + 2000, X_MAX - 2000, n_villages * 4)
    vy = rng.uniform(Y_MIN + 2000, Y_MAX - 2000, n_villages * 4)
    ok = (
        shapely.contains_xy(outline.buffer(-800), vx, vy)
        & ~shapely.contains_xy(urban_boundary.buffer(600), vx, vy)
        & ~shapely.contains_xy(redline.buffer(300), vx, vy)
        & ~shapely.intersects_xy(river.buffer(250), vx, vy)
        & ~shapely.intersects_xy(roads.buffer(150), vx, vy)
    )
    vx, vy = vx[ok][:n_villages], vy[ok][:n_villages]
    # village 0 sits at a fixed, telling place: in the plain west of the town, next to paddy
    vx[0], vy[0] = TOWN[0] - 7_200, TOWN[1] + 2_600
    n_villages = len(vx)
    homes_total = max(int(parcels * 0.15), n_villages * 12)
    per_village = max(12, homes_total // n_villages)
    cols = int(math.ceil(math.sqrt(per_village * 1.3)))
    rows = int(math.ceil(per_village / cols))
    plot_w, plot_h, street = 15.0, 13.0, 6.0
    vw, vh = cols * plot_w + (cols - 1) * 1.0, rows * (plot_h + street)
    angles = rng.uniform(-0.4, 0.4, n_villages)
    angles[0] = 0.0
    village_polys = np.array([rect(x, y, vw + 24, vh + 24, a) for x, y, a in zip(vx, vy, angles, strict=True)])
    township_polys = voronoi_partition(outline, [p for _, p in TOWNSHIPS])
    t_of_v = np.zeros(n_villages, dtype=int)
    for k, tp in enumerate(township_polys):
        t_of_v[shapely.contains_xy(tp, vx, vy)] = k
    village_names = np.array([
        f"{VILLAGE_NAMES[i % len(VILLAGE_NAMES)]}{VILLAGE_SUFFIX[(i // len(VILLAGE_NAMES)) % len(VILLAGE_SUFFIX)]}"
        + (str(i // (len(VILLAGE_NAMES) * len(VILLAGE_SUFFIX)) + 1) if i >= len(VILLAGE_NAMES) * len(VILLAGE_SUFFIX) else "")
        for i in range(n_villages)
    ])  # fmt: skip

    # Homestead plots: rows of 15×13 m plots along streets inside each village (first village: last row vacant).
    k = np.arange(per_village)
    pc, pr = k % cols, k // cols
    lx = -vw / 2 + pc * (plot_w + 1.0) + plot_w / 2
    ly = -vh / 2 + pr * (plot_h + street) + street + plot_h / 2
    hx = (vx[:, None] + lx * np.cos(angles)[:, None] - ly * np.sin(angles)[:, None]).ravel()
    hy = (vy[:, None] + lx * np.sin(angles)[:, None] + ly * np.cos(angles)[:, None]).ravel()
    ha = np.repeat(angles, per_village)
    hv = np.repeat(np.arange(n_villages), per_village)
    vacant = (hv == 0) & (np.tile(pr, n_villages) == rows - 1)
    hx, hy, ha, hv = hx[~vacant], hy[~vacant], ha[~vacant], hv[~vacant]
    dx, dy = plot_w / 2, plot_h / 2
    cos, sin = np.cos(ha), np.sin(ha)
    corners = np.array([(-dx, -dy), (dx, -dy), (dx, dy), (-dx, dy), (-dx, -dy)])
    hcoords = np.stack([np.column_stack([hx + cx_ * cos - cy_ * sin, hy + cx_ * sin + cy_ * cos]) for cx_, cy_ in corners], axis=1)
    homes = shapely.polygons(hcoords)

    # Base parcels: a jittered lattice over the county, cut by villages, river and roads.
    n_base = max(parcels - len(homes), 100)
    cells, spacing = lattice(outline, int(n_base / 0.92), rng)
    centroids = shapely.centroid(cells)
    cxs, cys = shapely.get_x(centroids), shapely.get_y(centroids)
    inside = shapely.contains_xy(outline, cxs, cys)
    cells, cxs, cys = cells[inside], cxs[inside], cys[inside]
    cutters = shapely.union_all([*village_polys, river, roads])
    tree = shapely.STRtree(cells)
    hit = np.unique(tree.query(cutters, predicate="intersects")) if not cutters.is_empty else np.array([], dtype=int)
    edge = np.unique(tree.query(outline.exterior, predicate="intersects"))
    cut = np.union1d(hit, edge)
    cells = cells.copy()
    cells[cut] = shapely.make_valid(shapely.intersection(shapely.difference(cells[cut], cutters), outline))
    cells[cut] = [shapely.union_all([p for p in shapely.get_parts(g) if isinstance(p, Polygon)]) for g in cells[cut]]
    keep = ~shapely.is_empty(cells) & (shapely.area(cells) > 1.0)
    cells, cxs, cys = cells[keep], cxs[keep], cys[keep]
    codes = classify(cxs, cys, hills, town, rng)

    # Land-use patches: each base cell, plus villages (0702), the river (1101) and roads (1003).
    lu_geoms = np.concatenate([cells, village_polys, shapely.get_parts(river), shapely.get_parts(roads)])
    lu_codes = np.concatenate([codes, np.full(n_villages, "0702"), np.full(len(shapely.get_parts(river)), "1101"),
                               np.full(len(shapely.get_parts(roads)), "1003")])  # fmt: skip
    lu_centroids = shapely.centroid(lu_geoms)
    lu_t = np.zeros(len(lu_geoms), dtype=int)
    for ti, tp in enumerate(township_polys):
        lu_t[shapely.contains_xy(tp, shapely.get_x(lu_centroids), shapely.get_y(lu_centroids))] = ti

    # Nearest village of every base cell: its collective owns the cell (a village group 村民小组 per cell block).
    vtree = shapely.STRtree(shapely.points(vx, vy))
    pairs = vtree.query_nearest(shapely.points(cxs, cys), all_matches=False)
    near_v = pairs[1][np.argsort(pairs[0])]
    group = 1 + (np.floor(cxs / 900).astype(int) + np.floor(cys / 900).astype(int)) % 6
    in_town = shapely.contains_xy(town, cxs, cys)
    farm = np.isin(codes, ["0101", "0102", "0103", "0201", "0202"])
    owner = np.char.add(np.char.add(village_names[near_v], "第"), np.char.add(group.astype(str), "村民小组"))
    owner = np.where(in_town, "咸安区人民政府", owner)
    right = np.where(in_town, "国有建设用地使用权", np.where(farm, "土地承包经营权", "集体土地所有权"))
    base_kind = np.where(in_town, "state", "collective")
    base_letters = np.where(in_town, "GB", "JA")

    # Homestead attributes: one household per plot, a few households holding two.
    n_homes = len(homes)
    household = np.array([f"HH{ADMIN}{t_of_v[v] + 1:03d}{v + 1:04d}-{i:04d}" for i, v in enumerate(hv)])
    doubles = rng.choice(np.arange(1, n_homes), size=max(2, n_homes // 200), replace=False)
    household[doubles] = household[doubles - 1]
    home_owner = names(rng, n_homes)

    parcels_df = pd.DataFrame({
        "owner": np.concatenate([owner, home_owner]),
        "owner_kind": np.concatenate([base_kind, np.full(n_homes, "person")]),
        "household_id": np.concatenate([np.full(len(cells), None), household]),
        "right_type": np.concatenate([right, np.full(n_homes, "宅基地使用权")]),
        "land_class": np.concatenate([codes, np.full(n_homes, "0702")]),
        "village": np.concatenate([village_names[near_v], village_names[hv]]),
        "township": np.concatenate([np.array([TOWNSHIPS[t][0] for t in t_of_v])[near_v], np.array([TOWNSHIPS[t][0] for t in t_of_v])[hv]]),
        "_t": np.concatenate([t_of_v[near_v], t_of_v[hv]]),
        "_v": np.concatenate([near_v, hv]),
        "_l": np.concatenate([base_letters, np.full(n_homes, "JC")]),
    })  # fmt: skip
    seq = parcels_df.groupby(["_t", "_v", "_l"]).cumcount() + 1
    parcels_df["parcel_no"] = (
        ADMIN + (parcels_df["_t"] + 1).map("{:03d}".format) + (parcels_df["_v"] + 1).map(lambda v: f"{v % 1000:03d}")
        + parcels_df["_l"] + seq.map("{:05d}".format)
    )  # fmt: skip
    parcels_geom = np.concatenate([cells, homes])

    # Permanent basic farmland over most paddy; price zones by distance from the town; mining rights in the hills.
    paddy = np.flatnonzero(codes == "0101")
    bf_idx = paddy[rng.random(len(paddy)) < 0.8]

    ring1 = Point(TOWN).buffer(6_000, quad_segs=32)
    ring2 = Point(TOWN).buffer(15_000, quad_segs=32)
    zones_geom = [
        shapely.intersection(ring1, outline),
        shapely.difference(shapely.intersection(ring2, outline), shapely.union_all([ring1, hills])),
        shapely.difference(outline, shapely.union_all([ring2, hills])),
        shapely.difference(shapely.intersection(hills, outline), ring1),
    ]
    zones = gpd.GeoDataFrame({
        "zone_no": ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ"], "price_per_mu": [72000.0, 61000.0, 52000.0, 45000.0],
        "land_share": [0.4] * 4, "resettlement_share": [0.6] * 4,
    }, geometry=[multi(g) for g in zones_geom], crs=GK)  # fmt: skip

    mine_centres = [(HILLS[0] - 6500 + 1300 * i, HILLS[1] - 5200 + 900 * (i % 3)) for i in range(8)]
    minerals = ["石灰岩", "建筑用砂岩", "萤石", "石灰岩", "白云岩", "建筑用花岗岩", "石英砂", "萤石"]
    mines = [rect(x, y, 600, 420, 0.2 * (i % 3)) for i, (x, y) in enumerate(mine_centres)]
    mines_df = gpd.GeoDataFrame({
        "licence_no": [f"C4212002{2009 + i}{127 + i:03d}130{10000 + 137 * i:05d}" if i % 4 else
                       f"T42120020{2015 + i}0102{5000 + i:05d}" for i in range(8)],
        "holder": [f"咸宁市{n}矿业有限公司" for n in ["大幕", "鑫源", "华鑫", "金桥", "永顺", "宏达", "新港", "恒通"]],
        "kind": ["exploration" if i % 4 == 0 else "mining" for i in range(8)],
        "mineral": minerals,
        "depth_top": [320.0, 280.0, 350.0, 300.0, 260.0, 310.0, 240.0, 330.0],
        "depth_bottom": [150.0, 120.0, 180.0, 100.0, 90.0, 140.0, 60.0, 200.0],
        "valid_from": pd.to_datetime(["2019-06-01", "2018-03-15", "2020-01-10", "2016-09-01", "2021-05-20", "2012-04-01", "2022-07-01", "2017-11-11"]).date,
        "valid_to": pd.to_datetime(["2029-05-31", "2028-03-14", "2030-01-09", "2026-08-31", "2031-05-19", "2022-03-31", "2032-06-30", "2024-11-10"]).date,
    }, geometry=[MultiPolygon([m]) for m in mines], crs=GK)  # fmt: skip

    # Anchors: telling places for sample applications, exact by construction.
    v0 = village_polys[0]
    v0x, v0y = vx[0], vy[0]
    vacant_y = v0y - vh / 2 + (rows - 1) * (plot_h + street) + street + plot_h / 2
    clean = rect(v0x - vw / 2 + 6 + 6, vacant_y, 12.0, 12.5)
    second = rect(v0x - vw / 2 + 6 + 30, vacant_y, 13.0, 12.0)
    east = v0.bounds[2]
    on_farm = rect(east - 4.0, v0y, 15.0, 12.0)
    # The cells east of village 0 are paddy and basic farmland, whatever the dice said.
    farm_hit = tree.query(on_farm.buffer(30), predicate="intersects")
    farm_cells = np.flatnonzero(np.isin(np.flatnonzero(keep), farm_hit))
    codes[farm_cells] = "0101"
    parcels_df.loc[farm_cells, ["land_class", "right_type"]] = ["0101", "土地承包经营权"]
    lu_codes[farm_cells] = "0101"
    bf_idx = np.union1d(bf_idx, farm_cells)
    req = rect(TOWN[0] - 5_600, TOWN[1] - 2_000, 710.0, 705.0)  # ≈ 50 ha across the urban boundary and zones Ⅰ/Ⅱ
    req_cells = np.flatnonzero(shapely.intersects(cells, req))
    first_half = req_cells[shapely.get_x(shapely.centroid(cells[req_cells])) < TOWN[0] - 5_600]
    codes[first_half] = "0101"
    lu_codes[first_half] = "0101"
    parcels_df.loc[first_half, "land_class"] = "0101"
    bf_idx = np.union1d(bf_idx, first_half[: max(1, len(first_half) // 2)])
    m0 = mines[0]
    mine_app = rect(mine_centres[0][0] + 300, mine_centres[0][1] + 100, 500, 400, 0.0)
    red_spot = shapely.centroid(redline)
    red_plot = rect(red_spot.x, red_spot.y, 100.0, 100.0)
    existing_household = household[0]

    bf = gpd.GeoDataFrame({
        "patch_no": [f"{i + 1:05d}" for i in range(len(bf_idx))],
        "township": [TOWNSHIPS[t][0] for t in lu_t[bf_idx]],
    }, geometry=[MultiPolygon([g]) if isinstance(g, Polygon) else multi(g) for g in cells[bf_idx]], crs=GK)  # fmt: skip

    layers: dict[str, gpd.GeoDataFrame] = {
        "townships": gpd.GeoDataFrame({"name": [n for n, _ in TOWNSHIPS], "code": [f"{ADMIN}{i + 1:03d}" for i in range(len(TOWNSHIPS))]},
                                      geometry=[multi(g) for g in township_polys], crs=GK),
        "landuse": gpd.GeoDataFrame({
            "dlbm": lu_codes, "patch_no": [f"{i + 1:06d}" for i in range(len(lu_geoms))],
            "township": [TOWNSHIPS[t][0] for t in lu_t], "village": None,
        }, geometry=shapely.multipolygons(shapely.get_parts(lu_geoms).reshape(-1, 1)) if len(shapely.get_parts(lu_geoms)) == len(lu_geoms) else [multi(g) for g in lu_geoms], crs=GK),
        "parcels": gpd.GeoDataFrame(parcels_df.drop(columns=["_t", "_v", "_l"])[["parcel_no", "owner", "owner_kind", "household_id", "right_type", "land_class", "village", "township"]],
                                    geometry=[MultiPolygon([g]) if isinstance(g, Polygon) else multi(g) for g in parcels_geom], crs=GK),
        "village_boundary": gpd.GeoDataFrame({"village": village_names, "township": [TOWNSHIPS[t][0] for t in t_of_v]},
                                             geometry=[MultiPolygon([g]) for g in village_polys], crs=GK),
        "basic_farmland": bf,
        "eco_redline": gpd.GeoDataFrame({"name": ["大幕山生态保护红线"], "kind": ["水源涵养"]}, geometry=[multi(redline)], crs=GK),
        "urban_boundary": gpd.GeoDataFrame({"name": ["咸安区中心城区城镇开发边界"]}, geometry=[MultiPolygon([urban_boundary])], crs=GK),
        "mining_rights": mines_df,
        "land_price_zones": zones,
    }  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    counts = {}
    for name, gdf in layers.items():
        gdf = gdf.to_crs(STORAGE)
        # parts that touch in metres can cross by a hair in degrees: repair those few after reprojection
        bad = ~gdf.geometry.is_valid
        if bad.any():
            gdf.loc[bad, "geometry"] = [multi(shapely.make_valid(g)) for g in gdf.geometry[bad]]
        gdf.to_file(out, layer=name, driver="GPKG", engine="pyogrio")
        counts[name] = len(gdf)

    if anchors_out is not None:
        to_ll = Transformer.from_crs(GK, STORAGE, always_xy=True)

        def anchor(geom: Polygon, **facts: object) -> dict[str, object]:
            ll = shapely.transform(geom, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))
            return {"gk_epsg": GK, "ring_gk": [list(map(lambda v: round(v, 3), c)) for c in geom.exterior.coords],
                    "geojson": mapping(ll), "area_m2": round(geom.area, 3), **facts}  # fmt: skip

        anchors = {
            "homestead_clean": anchor(clean, village=str(village_names[0]), household_id=f"HH{ADMIN}{t_of_v[0] + 1:03d}0001-9001",
                                      expect={"verdict": "pass"}),
            "homestead_on_farmland": anchor(on_farm, village=str(village_names[0]), household_id=f"HH{ADMIN}{t_of_v[0] + 1:03d}0001-9002",
                                            expect={"verdict": "block", "rules": {"HS-BF": "block", "HS-VIL": "warn"}}),
            "homestead_second_house": anchor(second, village=str(village_names[0]), household_id=str(existing_household),
                                             expect={"verdict": "block", "rules": {"HS-ONE": "block"}}),
            "requisition_50ha": anchor(req, expect={"rules": {"RQ-BF": "warn", "RQ-UDB": "warn"}}),
            "mining_overlap": anchor(mine_app, licence_no=str(mines_df.licence_no[0]), depth_top=300.0, depth_bottom=100.0,
                                     existing={"depth_top": 320.0, "depth_bottom": 150.0},
                                     overlap_m2=round(shapely.intersection(mine_app, m0).area, 3),
                                     expect={"verdict": "block", "rules": {"MN-RIGHT": "block"}}),
            "mining_depth_disjoint": anchor(mine_app, licence_no=str(mines_df.licence_no[0]), depth_top=140.0, depth_bottom=0.0,
                                            expect={"rules": {"MN-RIGHT": "pass"}}),
            "redline": anchor(red_plot, expect={"verdict": "block", "rules": {"HS-RED": "block"}}),
        }  # fmt: skip
        anchors_out.write_text(json.dumps(anchors, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    counts["seconds"] = round(time.perf_counter() - t0)
    counts["spacing_m"] = round(spacing)
    return counts


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--parcels", type=int, default=5000)
    p.add_argument("--out", type=Path, default=HERE / "county.gpkg")
    p.add_argument("--anchors", type=Path, default=HERE / "anchors.json")
    a = p.parse_args(argv)
    counts = generate(a.out, a.parcels, a.seed, a.anchors)
    print(json.dumps(counts, ensure_ascii=False), file=sys.stderr)


if __name__ == "__main__":
    main()

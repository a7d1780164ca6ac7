"""Generate the synthetic sample county: a seeded, vectorised one map at Xian'an district's real location.

    python sample_parcels/generate.py                       # the committed sample (5 000 parcels)
    python sample_parcels/generate.py --parcels 1000000 --out bench/data/county_1000k.gpkg --anchors /tmp/a.json

Everything is built in the CGCS2000 3° Gauss-Krüger zone 38 (EPSG:4526, metres, zone-prefixed eastings) and written
in EPSG:4490 lon/lat, one GeoPackage layer per catalog layer (gis/data/layers.toml) with the catalog's column names.

How the county is made:
- a warped, rotated, jittered node lattice gives land-use patches (coarse cells) and, for farmland, the contracted
  parcels inside them (fine cells sharing the patch's nodes, so parcels nest exactly in their patch);
- a terrain field (hills east and south-east, plain west and north) chooses each patch's GB/T 21010 class;
- water, roads, villages and mine pits are cut out of the lattice as their own patches and parcels;
- townships are unions of whole patches around their seats (so their borders follow patch edges);
- the telling places of anchors.json are fixed coordinates, and the layers are made around them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.affinity
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Polygon, box, mapping

HERE = Path(__file__).resolve().parent
DEFAULT_SEED = 20261122
GK = 4526
STORAGE = 4490
ADMIN = "421202"  # 咸安区
STATE_OWNER = "咸宁市咸安区人民政府"

# The county in zone 38 metres: about 114.10–114.70°E, 29.65–30.05°N.
X_MIN, X_MAX, Y_MIN, Y_MAX = 38_510_500.0, 38_567_000.0, 3_282_000.0, 3_325_200.0
CX, CY = (X_MIN + X_MAX) / 2, (Y_MIN + Y_MAX) / 2
TOWN = (38_530_922.0, 3_303_528.0)  # 温泉, 114.32°E 29.85°N
HILLS = (38_556_000.0, 3_296_000.0)  # 大幕山
SOUTH_HILLS = (38_546_000.0, 3_285_500.0)
LAKE = (38_514_500.0, 3_320_000.0)  # 向阳湖

TOWNSHIPS = [
    ("温泉街道", (38_530_900, 3_303_500)),
    ("浮山街道", (38_535_500, 3_309_500)),
    ("永安街道", (38_526_500, 3_299_000)),
    ("向阳湖镇", (38_516_000, 3_317_500)),
    ("官埠桥镇", (38_522_500, 3_313_000)),
    ("横沟桥镇", (38_541_000, 3_319_000)),
    ("贺胜桥镇", (38_526_000, 3_321_500)),
    ("双溪桥镇", (38_538_500, 3_289_000)),
    ("马桥镇", (38_528_000, 3_288_500)),
    ("桂花镇", (38_548_500, 3_285_500)),
    ("高桥镇", (38_547_000, 3_306_000)),
    ("大幕乡", (38_559_500, 3_297_500)),
]
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史黎贺顾毛郝龚邵万钱覃武戴孔汤庞樊兰殷施陶洪翟安颜倪严牛温季俞章鲁葛伍申尤毕聂焦向柳邢骆岳齐梅莫庄辛管祝左涂谷祁舒耿詹关苗凌费纪靳盛童欧甄项曲成游阳裴席卫查屈鲍霍翁甘景单包柏宁柯阮桂闵"
)
GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬斌鹏辉国志永春梅海金凤德文建忠林清保发元成"
)
VILLAGE_PREFIX = ["", "大", "小", "上", "下", "新", "老", "前", "后", "东", "西", "南", "北"]
VILLAGE_SUFFIX = ["家村", "家湾村", "家畈村", "家铺村", "家桥村", "家岭村", "家垴村", "家港村", "家冲村", "家山村"]
NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]
HOLDERS = ["大幕", "鑫源", "华鑫", "金桥", "永顺", "宏达", "新港", "恒通", "桂乡", "泉都", "淦河", "双溪"]

# The telling places (EPSG:4526 rings), fixed so that sample application files stay on them whatever the seed.
VILLAGE0 = (38_523_662.5, 3_306_056.0, 38_523_781.5, 3_306_200.0)  # 张家村's construction land, a plain rectangle
A_CLEAN = (38_523_680.5, 3_306_153.25, 38_523_692.5, 3_306_165.75)  # 150 m² vacant village land
A_SECOND = (38_523_704.0, 3_306_153.5, 38_523_717.0, 3_306_165.5)  # 156 m² vacant village land
A_FARM = (38_523_770.0, 3_306_122.0, 38_523_785.0, 3_306_134.0)  # 180 m²: 3.5 m × 12 m beyond the village, on paddy
A_REQ = (38_524_967.0, 3_301_175.5, 38_525_677.0, 3_301_880.5)  # 50.055 ha south-west of the town
REQ_SPLIT_X = 38_525_322.0  # the paddy/dry-land split and the urban boundary's edge inside the requisition area
A_MINE = (38_549_550.0, 3_290_700.0, 38_550_050.0, 3_291_100.0)  # 20 ha overlapping mining right no. 0
A_RED = (38_556_834.149, 3_295_678.491, 38_556_934.149, 3_295_778.491)  # 1 ha inside the 大幕山 red line
MINES = [  # centre x, centre y, width, height, angle (rad), kind, mineral, top, bottom, valid from, valid to
    (38_549_500, 3_290_800, 600, 420, 0.0, "mining", "石灰岩", 320.0, 150.0, "2019-06-01", "2029-05-31"),
    (38_551_600, 3_292_300, 520, 380, 0.2, "mining", "建筑用砂岩", 280.0, 120.0, "2018-03-15", "2028-03-14"),
    (38_553_200, 3_289_400, 700, 450, -0.3, "mining", "萤石", 350.0, 80.0, "2020-01-10", "2030-01-09"),
    (38_547_200, 3_288_600, 1500, 1100, 0.1, "exploration", "萤石", 400.0, -100.0, "2023-09-01", "2028-08-31"),
    (38_559_800, 3_300_900, 480, 360, 0.4, "mining", "石灰岩", 260.0, 90.0, "2021-09-01", "2031-08-31"),
    (38_543_500, 3_293_200, 560, 400, -0.2, "mining", "建筑用花岗岩", 310.0, 140.0, "2012-04-01", "2022-03-31"),
    (38_561_500, 3_291_200, 1800, 1300, 0.25, "exploration", "金", 500.0, -200.0, "2022-07-01", "2027-06-30"),
    (38_540_600, 3_287_400, 450, 330, 0.5, "mining", "白云岩", 240.0, 60.0, "2017-11-11", "2024-11-10"),
]
MINE_APP_DEPTHS = (300.0, 100.0)  # overlaps right no. 0's +320/+150
MINE_DISJOINT_DEPTHS = (140.0, 0.0)  # below it
PRICE_ZONES = [("Ⅰ", 72000.0), ("Ⅱ", 61000.0), ("Ⅲ", 52000.0), ("Ⅳ", 45000.0)]
PLAIN_CLASSES = (
    ["0101", "0103", "1104", "0201", "0307", "1202", "0202", "0101K", "1104A", "0301"],
    [0.64, 0.11, 0.07, 0.04, 0.05, 0.02, 0.02, 0.015, 0.01, 0.025],
)
FOOT_CLASSES = (
    ["0103", "0201", "0202", "0301", "0307", "0101", "0305", "1104"],
    [0.24, 0.13, 0.14, 0.16, 0.10, 0.13, 0.06, 0.04],
)
HILL_CLASSES = (["0301", "0305", "0307", "0202", "0301K", "0302", "0103"], [0.56, 0.17, 0.12, 0.05, 0.03, 0.04, 0.03])
TOWN_CLASSES = (
    ["0701", "05H1", "0601", "08H2", "0810", "0505", "0604", "0809"],
    [0.46, 0.12, 0.14, 0.09, 0.06, 0.05, 0.04, 0.04],
)
CONTRACT = ("0101", "0102", "0103", "0201", "0202")  # contracted farmland: subdivided into household parcels


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """An axis-parallel rectangle (EPSG:4526 metres)."""
    return box(x0, y0, x1, y1)


def rotated_rects(cx: np.ndarray, cy: np.ndarray, w: np.ndarray, h: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Vectorised w×h rectangles centred at (cx, cy), rotated by angle radians."""
    cos, sin = np.cos(angle), np.sin(angle)
    unit = np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5)])
    px = unit[None, :, 0] * np.asarray(w)[..., None]
    py = unit[None, :, 1] * np.asarray(h)[..., None]
    xs = np.asarray(cx)[..., None] + px * cos[..., None] - py * sin[..., None]
    ys = np.asarray(cy)[..., None] + px * sin[..., None] + py * cos[..., None]
    return shapely.polygons(np.stack([xs, ys], axis=-1))


def wobbly(
    cx: float,
    cy: float,
    r: float,
    rng: np.random.Generator,
    n: int = 180,
    amp: float = 0.18,
    at: tuple[float, float, float] | None = None,
) -> Polygon:
    """A star-shaped polygon with smooth harmonics; `at=(x, y, d)` scales it so its edge passes d from the centre there."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    phases = rng.uniform(0, 2 * np.pi, 4)

    def radius(t: np.ndarray) -> np.ndarray:
        rr = np.full(np.shape(t), float(r))
        for k, ph in zip((2, 3, 5, 7), phases, strict=True):
            rr = rr * (1 + amp / k * np.sin(k * t + ph))
        return rr

    rr = radius(a)
    if at is not None:
        rr = rr * at[2] / radius(np.array([math.atan2(at[1] - cy, at[0] - cx)]))[0]
    return Polygon(np.column_stack([cx + rr * np.cos(a), cy + rr * np.sin(a)]))


def smooth_noise(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, wavelengths: tuple[float, ...]) -> np.ndarray:
    """A smooth pseudo-random field in about [-1, 1]: a sum of plane waves in random directions."""
    out = np.zeros(np.shape(x))
    for wl in wavelengths:
        th, ph = rng.uniform(0, 2 * np.pi, 2)
        out += np.sin((x * math.cos(th) + y * math.sin(th)) * 2 * np.pi / wl + ph)
    return out / math.sqrt(len(wavelengths) / 2)


def terrain(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Elevation-like field in [0, 1]: hills east and south-east (大幕山), plain west and north (向阳湖)."""
    east = (x - X_MIN) / (X_MAX - X_MIN)
    south = (Y_MAX - y) / (Y_MAX - Y_MIN)
    e = 0.42 * east + 0.18 * south
    e += 0.55 * np.exp(-((x - HILLS[0]) ** 2 + (y - HILLS[1]) ** 2) / (2 * 8000.0**2))
    e += 0.40 * np.exp(-((x - SOUTH_HILLS[0]) ** 2 + (y - SOUTH_HILLS[1]) ** 2) / (2 * 6000.0**2))
    e -= 0.25 * np.exp(-((x - LAKE[0]) ** 2 + (y - LAKE[1]) ** 2) / (2 * 7000.0**2))
    e += 0.10 * smooth_noise(x, y, np.random.default_rng(seed + 1), (9000.0, 5300.0, 3100.0, 1900.0))
    return np.clip(e, 0, 1)


def choose(rng: np.random.Generator, table: tuple[list[str], list[float]], n: int) -> np.ndarray:
    """Draw n class codes from a (codes, weights) table."""
    codes, w = table
    p = np.asarray(w, dtype=float)
    return np.asarray(codes)[rng.choice(len(codes), size=n, p=p / p.sum())]


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Synthetic Chinese personal names (surname + one or two given characters)."""
    s = np.asarray(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.asarray(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.where(rng.random(n) < 0.65, np.asarray(GIVEN)[rng.integers(0, len(GIVEN), n)], "")
    return np.char.add(np.char.add(s, g1), g2)


def multi(g: shapely.Geometry) -> MultiPolygon:
    """Polygonal part of a geometry as a MultiPolygon."""
    return MultiPolygon([p for p in shapely.get_parts(g) if isinstance(p, Polygon) and not p.is_empty])


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of each geometry (overlay results may carry stray lines or points)."""
    geoms = np.asarray(geoms, dtype=object).copy()
    types = shapely.get_type_id(geoms)
    odd = np.flatnonzero(~np.isin(types, [3, 6]))
    for i in odd:
        geoms[i] = shapely.union_all([p for p in shapely.get_parts(geoms[i]) if shapely.get_type_id(p) == 3])
    return geoms


def cut(cells: np.ndarray, pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Subtract every intersecting piece from every cell, pair by pair, vectorised; return (cells, touched mask)."""
    cells = np.asarray(cells, dtype=object).copy()
    touched = np.zeros(len(cells), dtype=bool)
    if len(pieces) == 0 or len(cells) == 0:
        return cells, touched
    tree = shapely.STRtree(pieces)
    ci, pi = tree.query(cells, predicate="intersects")
    if len(ci) == 0:
        return cells, touched
    order = np.lexsort((pi, ci))
    ci, pi = ci[order], pi[order]
    rank = np.arange(len(ci)) - np.searchsorted(ci, ci)
    for r in range(int(rank.max()) + 1):
        sel = rank == r
        cells[ci[sel]] = shapely.difference(cells[ci[sel]], pieces[pi[sel]])
    touched[ci] = True
    cells[touched] = polygonal(cells[touched])
    return cells, touched


def explode(geoms: np.ndarray, min_area: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Single polygons of the geometries with the index of their source; slivers below min_area dropped."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > min_area)
    return parts[keep], idx[keep]


def split_by_tiles(geom: shapely.Geometry, tile: float) -> np.ndarray:
    """Cut one large geometry into the pieces inside a square grid of tiles (exact, non-overlapping)."""
    if geom.is_empty:
        return np.array([], dtype=object)
    minx, miny, maxx, maxy = geom.bounds
    xs = np.arange(math.floor(minx / tile) * tile, maxx, tile)
    ys = np.arange(math.floor(miny / tile) * tile, maxy, tile)
    gx, gy = np.meshgrid(xs, ys)
    tiles = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + tile, gy.ravel() + tile)
    shapely.prepare(geom)
    tiles = tiles[shapely.intersects(geom, tiles)]
    parts, _ = explode(polygonal(shapely.intersection(geom, tiles)))
    return parts


def lattice(s_coarse: float, kx: int, ky: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Node coordinates of a rotated, warped, jittered lattice covering the county; return (X, Y, ncx, ncy)."""
    theta = math.radians(8.0)
    sx, sy = s_coarse / kx, s_coarse / ky
    corners = np.array([(X_MIN, Y_MIN), (X_MAX, Y_MIN), (X_MAX, Y_MAX), (X_MIN, Y_MAX)]) - (CX, CY)
    u = corners[:, 0] * math.cos(theta) + corners[:, 1] * math.sin(theta)
    v = -corners[:, 0] * math.sin(theta) + corners[:, 1] * math.cos(theta)
    margin = 2 * s_coarse + 600
    ncx = int(math.ceil((u.max() - u.min() + 2 * margin) / s_coarse))
    ncy = int(math.ceil((v.max() - v.min() + 2 * margin) / s_coarse))
    uu = u.min() - margin + np.arange(ncx * kx + 1) * sx
    vv = v.min() - margin + np.arange(ncy * ky + 1) * sy
    gu, gv = np.meshgrid(uu, vv)  # shape (rows = v, cols = u)
    jit = 0.22 * min(sx, sy)
    gu = gu + rng.uniform(-jit, jit, gu.shape)
    gv = gv + rng.uniform(-jit, jit, gv.shape)
    x = CX + gu * math.cos(theta) - gv * math.sin(theta)
    y = CY + gu * math.sin(theta) + gv * math.cos(theta)
    # a smooth warp (slopes well below 1, so every cell stays simple and the tiling exact)
    p = rng.uniform(0, 2 * np.pi, 4)
    wx = 260 * np.sin(y / 8200 * 2 * np.pi + p[0]) + 70 * np.sin((x + y) / 3300 * 2 * np.pi + p[1])
    wy = 220 * np.sin(x / 9100 * 2 * np.pi + p[2]) + 60 * np.sin((x - y) / 2900 * 2 * np.pi + p[3])
    return x + wx, y + wy, ncx, ncy


def ring_offsets(kx: int, ky: int) -> tuple[np.ndarray, np.ndarray]:
    """Column and row offsets of the nodes round one coarse cell (counter-clockwise, closed)."""
    di = list(range(kx + 1)) + [kx] * ky + list(range(kx - 1, -1, -1)) + [0] * ky
    dj = [0] * (kx + 1) + list(range(1, ky + 1)) + [ky] * kx + list(range(ky - 1, -1, -1))
    return np.array(di), np.array(dj)


def meander(rng: np.random.Generator) -> LineString:
    """The 淦河-like river: from the south-east hills through the town to 向阳湖 in the north-west."""
    t = np.linspace(0, 1, 700)
    p0, p1 = np.array([38_552_000.0, 3_284_500.0]), np.array([LAKE[0] + 1500, LAKE[1] - 1500])
    base = p0[None, :] + t[:, None] * (p1 - p0)[None, :]
    nrm = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / np.linalg.norm(p1 - p0)
    off = 2400 * np.sin(t * np.pi * 2.2 + rng.uniform(0, 0.5)) + 500 * np.sin(t * np.pi * 13 + rng.uniform(0, 6))
    off += 150 * np.sin(t * np.pi * 41 + rng.uniform(0, 6))
    # pass just south of the town and west of the requisition area, bending around the anchors
    return LineString(base + off[:, None] * nrm[None, :])


def road_lines(rng: np.random.Generator) -> tuple[list[LineString], list[LineString]]:
    """National road (G107-like), county roads through the town; return (national, county)."""
    national = [
        LineString(
            [
                (X_MIN - 800, 3_297_400),
                (38_520_000, 3_299_300),
                (TOWN[0] - 400, TOWN[1] - 500),
                (38_541_000, 3_310_500),
                (X_MAX + 800, 3_319_500),
            ]
        )
    ]
    county = [
        LineString(
            [
                (TOWN[0] + 300, TOWN[1] + 200),
                (38_528_500, 3_312_000),
                (38_524_500, 3_318_500),
                (38_521_000, Y_MAX + 800),
            ]
        ),
        LineString([(TOWN[0], TOWN[1]), (38_533_500, 3_296_000), (38_537_500, 3_289_500), (38_544_000, Y_MIN - 800)]),
        LineString(
            [(TOWN[0] + 500, TOWN[1] - 200), (38_542_000, 3_301_500), (38_551_000, 3_298_800), (38_557_500, 3_302_500)]
        ),
        LineString(
            [(38_533_500, 3_296_000), (38_527_500, 3_290_500), (38_520_500, 3_286_000), (X_MIN - 800, 3_283_500)]
        ),
    ]
    return national, county


def rural_roads(rng: np.random.Generator, n: int, outline: Polygon) -> list[LineString]:
    """Winding rural roads (农村道路): random walks of a few bends across the plain."""
    out = []
    minx, miny, maxx, maxy = outline.bounds
    for _ in range(n):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        heading = rng.uniform(0, 2 * np.pi)
        pts = [(x, y)]
        for _ in range(int(rng.integers(4, 8))):
            heading += rng.normal(0, 0.35)
            step = rng.uniform(700, 1600)
            x, y = x + step * math.cos(heading), y + step * math.sin(heading)
            pts.append((x, y))
        out.append(LineString(pts))
    return out


def generate(
    out: Path, parcels: int = 5000, seed: int = DEFAULT_SEED, anchors_out: Path | None = None
) -> dict[str, int]:
    """Write the county GeoPackage (and anchors.json if asked); return the feature count per layer."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    ell = shapely.affinity.scale(wobbly(CX, CY, 25_500, rng, n=360, amp=0.16), 1.0, 0.8)
    mines = rotated_rects(*(np.array([m[i] for m in MINES], dtype=float) for i in range(5)))
    core = shapely.union_all([*mines, *(shapely.Point(p) for _, p in TOWNSHIPS), rect(*A_RED)]).convex_hull.buffer(2500)
    outline = shapely.union(ell, core).buffer(1500, quad_segs=4).buffer(-1500, quad_segs=4)
    outline = shapely.intersection(outline, box(X_MIN, Y_MIN, X_MAX, Y_MAX))
    shapely.prepare(outline)
    area = outline.area

    # --- scale: contracted farmland patches hold kx×ky parcels; other patches are one parcel each ---------------
    kx, ky = (1, 1) if parcels < 40_000 else (2, 3)
    per_patch = 0.50 * kx * ky + 0.50  # about half the patches are contracted farmland
    n_coarse = max(parcels * (0.73 if kx * ky == 1 else 0.77) / per_patch, 400)  # calibrated: about `parcels` parcels
    s_coarse = math.sqrt(area / n_coarse)
    X, Y, ncx, ncy = lattice(s_coarse, kx, ky, rng)

    # --- coarse cells = land-use patches before cutting ---------------------------------------------------------
    di, dj = ring_offsets(kx, ky)
    ci_, cj_ = np.meshgrid(np.arange(ncx), np.arange(ncy))
    ci_, cj_ = ci_.ravel(), cj_.ravel()
    # quick filter on the corner nodes' box before building polygons
    c00 = (cj_ * ky, ci_ * kx)
    c11 = (cj_ * ky + ky, ci_ * kx + kx)
    ccx = (X[c00] + X[c11] + X[cj_ * ky, ci_ * kx + kx] + X[cj_ * ky + ky, ci_ * kx]) / 4
    ccy = (Y[c00] + Y[c11] + Y[cj_ * ky, ci_ * kx + kx] + Y[cj_ * ky + ky, ci_ * kx]) / 4
    near = (
        (ccx > X_MIN - 2 * s_coarse)
        & (ccx < X_MAX + 2 * s_coarse)
        & (ccy > Y_MIN - 2 * s_coarse)
        & (ccy < Y_MAX + 2 * s_coarse)
    )
    ci_, cj_, ccx, ccy = ci_[near], cj_[near], ccx[near], ccy[near]
    rows = cj_[:, None] * ky + dj[None, :]
    cols = ci_[:, None] * kx + di[None, :]
    coarse = shapely.polygons(np.stack([X[rows, cols], Y[rows, cols]], axis=-1))
    inside = shapely.intersects(outline, coarse)
    coarse, ci_, cj_, ccx, ccy = coarse[inside], ci_[inside], cj_[inside], ccx[inside], ccy[inside]
    n_c = len(coarse)

    # --- townships: warped nearest seat, as unions of whole cells ----------------------------------------------
    seats = np.array([p for _, p in TOWNSHIPS], dtype=float)
    wx = ccx + 1100 * smooth_noise(ccx, ccy, rng, (9000.0, 5200.0))
    wy = ccy + 1100 * smooth_noise(ccx, ccy, rng, (8600.0, 4900.0))
    d2 = (wx[:, None] - seats[None, :, 0]) ** 2 + (wy[:, None] - seats[None, :, 1]) ** 2
    d2[:, 0] *= 1.6  # 温泉街道 is the small town-centre subdistrict
    c_town = np.argmin(d2, axis=1)
    town_polys = []
    for k in range(len(TOWNSHIPS)):
        u = shapely.coverage_union_all(coarse[c_town == k])
        town_polys.append(multi(shapely.intersection(u, outline)))
    town_polys_arr = np.array(town_polys, dtype=object)

    # --- zones that steer the classes ---------------------------------------------------------------------------
    elev = terrain(ccx, ccy, seed)
    town = wobbly(TOWN[0], TOWN[1], 2_600, rng, amp=0.15)
    urban = shapely.union(
        wobbly(TOWN[0] + 300, TOWN[1] + 200, 4_300, rng, amp=0.12),
        Polygon(
            [
                (REQ_SPLIT_X, 3_300_950),
                (TOWN[0] - 1500, 3_300_300),
                (TOWN[0], TOWN[1] - 1000),
                (TOWN[0] - 2000, 3_302_700),
                (REQ_SPLIT_X, 3_302_300),
            ]
        ),
    )
    urban = Polygon(urban.exterior)
    hills_poly = shapely.intersection(wobbly(HILLS[0] - 1500, HILLS[1] - 2500, 12_500, rng, amp=0.25), outline)
    a_req, a_mine, a_red = rect(*A_REQ), rect(*A_MINE), rect(*A_RED)
    a_farm, village0 = rect(*A_FARM), rect(*VILLAGE0)
    protected = shapely.union_all(
        [
            village0.buffer(250),
            a_req.buffer(60),
            a_mine.buffer(150),
            a_red.buffer(150),
            shapely.union_all(mines).buffer(60),
        ]
    )

    # --- cutters: water, roads, mine pits, villages (disjoint, in this order of priority) ----------------------
    lake = shapely.intersection(wobbly(LAKE[0], LAKE[1], 2_300, rng, amp=0.3), outline)
    river = shapely.difference(shapely.intersection(meander(rng).buffer(28, quad_segs=3), outline), lake)
    river = shapely.difference(river, protected)
    reservoir = shapely.difference(
        wobbly(HILLS[0] - 2500, HILLS[1] + 7800, 700, rng, amp=0.4), shapely.union(river, protected)
    )
    water = shapely.union_all([lake, river, reservoir])
    national, county = road_lines(rng)
    g_nat = shapely.difference(
        shapely.intersection(shapely.union_all([ln.buffer(13, cap_style="flat") for ln in national]), outline), water
    )
    g_cty = shapely.difference(
        shapely.intersection(shapely.union_all([ln.buffer(7, cap_style="flat") for ln in county]), outline),
        shapely.union(water, g_nat),
    )
    rural = [
        ln for ln in rural_roads(rng, int(np.clip(parcels / 400, 12, 60)), outline) if not ln.intersects(protected)
    ]
    major = shapely.union_all([water, g_nat, g_cty])
    g_rur = shapely.difference(
        shapely.intersection(shapely.union_all([ln.buffer(3, cap_style="flat") for ln in rural]), outline), major
    )
    roads = shapely.union_all([g_nat, g_cty, g_rur])
    pit_spec = [m for m in MINES if m[5] == "mining"]
    pits = rotated_rects(*(np.array([m[i] for m in pit_spec], dtype=float) * (1, 1, 0.45, 0.5, 1)[i] for i in range(5)))
    pits = np.array([multi(shapely.difference(p, shapely.union(water, roads))) for p in pits], dtype=object)

    # villages: a jittered grid of sites in the plain and foothills, away from water, roads, town and anchors
    n_vil = int(np.clip(parcels // 150, 30, 3000))
    homes_target = max(parcels * 0.15, n_vil * 12)
    per_vil = max(12, int(homes_target / n_vil))
    vcols = int(math.ceil(math.sqrt(per_vil * 1.15)))
    plain_area = area * 0.7
    g = math.sqrt(plain_area / (n_vil * 1.6))
    gx, gy = np.meshgrid(np.arange(X_MIN, X_MAX, g) + g / 2, np.arange(Y_MIN, Y_MAX, g) + g / 2)
    sx_ = gx.ravel() + rng.uniform(-0.18, 0.18, gx.size) * g
    sy_ = gy.ravel() + rng.uniform(-0.18, 0.18, gx.size) * g
    pw = rng.uniform(11.5, 16.0, sx_.size)
    ph = rng.uniform(10.5, 14.5, sx_.size)
    vrows = np.maximum(2, np.round(per_vil / vcols * rng.uniform(0.6, 1.4, sx_.size))).astype(int)
    vw = vcols * (pw + 1.0) - 1.0 + 24
    vh = vrows * (ph + 6.0) + 18
    ang = rng.uniform(-0.5, 0.5, sx_.size)
    cand = rotated_rects(sx_, sy_, vw, vh, ang)
    keep_out = shapely.union_all(
        [
            water.buffer(30),
            roads.buffer(8),
            urban.buffer(500),
            protected.buffer(150),
            shapely.union_all(mines).buffer(200),
            a_req.buffer(400),
        ]
    )
    shapely.prepare(keep_out)
    inner = outline.buffer(-150)
    shapely.prepare(inner)
    ok = shapely.contains(inner, cand) & ~shapely.intersects(keep_out, cand) & (terrain(sx_, sy_, seed) < 0.7)
    okv = np.flatnonzero(ok)
    chosen = np.sort(rng.choice(okv, size=min(n_vil - 1, len(okv)), replace=False))
    vpoly = np.concatenate([[village0], cand[chosen]])
    vcx = np.concatenate([[(VILLAGE0[0] + VILLAGE0[2]) / 2], sx_[chosen]])
    vcy = np.concatenate([[(VILLAGE0[1] + VILLAGE0[3]) / 2], sy_[chosen]])
    v_ang = np.concatenate([[0.0], ang[chosen]])
    v_pw = np.concatenate([[15.0], pw[chosen]])
    v_ph = np.concatenate([[13.0], ph[chosen]])
    v_rows = np.concatenate([[6], vrows[chosen]])
    v_cols = np.concatenate([[6], np.full(len(chosen), vcols)])
    n_v = len(vpoly)
    # township of each village by its centre
    ttree = shapely.STRtree(town_polys_arr)
    tp = ttree.query(shapely.points(vcx, vcy), predicate="within")
    v_town = np.zeros(n_v, dtype=int)
    v_town[tp[0]] = tp[1]
    v_seq = pd.Series(np.arange(n_v)).groupby(v_town).cumcount().to_numpy() + 1  # village number within its township
    combos = [p + s for s in VILLAGE_SUFFIX for p in VILLAGE_PREFIX]
    order = rng.permutation(len(SURNAMES) * len(combos))
    vnames = np.array(
        [
            f"{combos[o % len(combos)][:-3]}{SURNAMES[o // len(combos)]}{combos[o % len(combos)][-3:]}"
            if combos[o % len(combos)][:-3]
            else f"{SURNAMES[o // len(combos)]}{combos[o % len(combos)]}"
            for o in order[:n_v]
        ]
    )
    vnames[0] = "张家村"
    vnames[1:][vnames[1:] == "张家村"] = "章家村"
    t_names = np.array([n for n, _ in TOWNSHIPS])

    cutters = [(water_part, code) for water_part, code in ((lake, "1102"), (river, "1101"), (reservoir, "1103"))]
    cutters += [(g_nat, "1003"), (g_cty, "1003"), (g_rur, "1006")]
    # the requisition area's east part is one dry-land patch, exactly (its west part is paddy, forced below)
    dry = shapely.difference(
        rect(REQ_SPLIT_X, A_REQ[1] - 120, A_REQ[2] + 160, A_REQ[3] + 90), shapely.union(water, roads)
    )
    cutters += [(dry, "0103")]
    pieces, piece_code = [], []
    for geom, code in cutters:
        parts = split_by_tiles(geom, 2500.0)
        pieces.append(parts)
        piece_code.append(np.full(len(parts), code))
    for p in pits:
        parts, _ = explode(np.array([p]))
        pieces.append(parts)
        piece_code.append(np.full(len(parts), "0602"))
    pieces.append(vpoly)
    piece_code.append(np.full(n_v, "0702"))
    pieces_arr = np.concatenate(pieces)
    piece_code_arr = np.concatenate(piece_code)
    piece_vil = np.full(len(pieces_arr), -1)
    piece_vil[-n_v:] = np.arange(n_v)
    # split the pieces at township borders so that every patch lies in one township
    pq = ttree.query(pieces_arr, predicate="intersects")
    several = np.bincount(pq[0], minlength=len(pieces_arr))[pq[0]] > 1
    split = pieces_arr[pq[0]].copy()
    split[several] = polygonal(shapely.intersection(split[several], town_polys_arr[pq[1][several]]))
    pieces_arr = split
    piece_code_arr, piece_vil, piece_town = piece_code_arr[pq[0]], piece_vil[pq[0]], pq[1]
    parts, idx = explode(pieces_arr)
    pieces_arr, piece_code_arr, piece_vil, piece_town = parts, piece_code_arr[idx], piece_vil[idx], piece_town[idx]
    # dense cutter edges: the cells cut by them share their vertices, so neighbours stay flush after reprojection
    pieces_arr = shapely.segmentize(pieces_arr, 60.0)

    # --- classes of the coarse cells --------------------------------------------------------------------------
    u_town = shapely.contains_xy(town, ccx, ccy)
    u_hill = (elev > 0.63) | shapely.contains_xy(hills_poly, ccx, ccy) & (elev > 0.5)
    u_foot = ~u_hill & (elev > 0.45)
    code = choose(rng, PLAIN_CLASSES, n_c)
    code = np.where(u_foot, choose(rng, FOOT_CLASSES, n_c), code)
    code = np.where(u_hill, choose(rng, HILL_CLASSES, n_c), code)
    code = np.where(u_town, choose(rng, TOWN_CLASSES, n_c), code)
    # near 向阳湖: more ponds
    near_lake = (ccx - LAKE[0]) ** 2 + (ccy - LAKE[1]) ** 2 < 5_500.0**2
    code = np.where(near_lake & (rng.random(n_c) < 0.25), "1104", code)
    # exact by construction: paddy east of 张家村 and in the requisition area's west part, dry land in its east part
    shapely.prepare(coarse)
    force_bf = shapely.intersects(coarse, rect(VILLAGE0[2], VILLAGE0[1] - 40, VILLAGE0[2] + 60, VILLAGE0[3] + 40))
    req_w = shapely.intersects(coarse, rect(A_REQ[0], A_REQ[1], REQ_SPLIT_X, A_REQ[3]))
    req_e = shapely.intersects(coarse, rect(REQ_SPLIT_X, A_REQ[1], A_REQ[2], A_REQ[3])) & ~req_w
    code[force_bf | req_w] = "0101"
    code[req_e] = "0103"
    code[shapely.intersects(coarse, a_mine.buffer(50)) | shapely.intersects(coarse, a_red.buffer(50))] = "0301"

    # village of every coarse cell: nearest village of the same township (a 社区 where a township has none)
    c_vil = np.full(n_c, -1)
    for k in range(len(TOWNSHIPS)):
        mine_v = np.flatnonzero(v_town == k)
        sel = np.flatnonzero(c_town == k)
        if len(mine_v) == 0 or len(sel) == 0:
            continue
        q = shapely.STRtree(shapely.points(vcx[mine_v], vcy[mine_v])).query_nearest(
            shapely.points(ccx[sel], ccy[sel]), all_matches=False
        )
        c_vil[sel[q[0]]] = mine_v[q[1]]

    # --- cut the coarse cells: clip to the outline, subtract the cutters ---------------------------------------
    edge = ~shapely.contains(outline, coarse)
    cut_cells = coarse.copy()
    cut_cells[edge] = polygonal(shapely.intersection(coarse[edge], outline))
    cut_cells, touched = cut(cut_cells, pieces_arr)
    touched |= edge
    patch_geom, patch_c = explode(cut_cells)

    # --- landuse layer ------------------------------------------------------------------------------------------
    lu_geom = np.concatenate([patch_geom, pieces_arr])
    lu_code = np.concatenate([code[patch_c], piece_code_arr])
    lu_town = np.concatenate([c_town[patch_c], piece_town])
    lu_vil = np.concatenate([c_vil[patch_c], piece_vil])
    nov = lu_vil < 0  # cutter pieces: village of their township nearest to them
    if nov.any():
        pc = shapely.centroid(lu_geom[nov])
        fill = np.full(nov.sum(), -1)
        for k in range(len(TOWNSHIPS)):
            mv = np.flatnonzero(v_town == k)
            sel = np.flatnonzero(lu_town[nov] == k)
            if len(mv) and len(sel):
                q = shapely.STRtree(shapely.points(vcx[mv], vcy[mv])).query_nearest(pc[sel], all_matches=False)
                fill[sel[q[0]]] = mv[q[1]]
        lu_vil[nov] = fill
    community = np.char.add(np.char.replace(np.char.replace(t_names, "街道", ""), "镇", ""), "社区")
    vil_name = np.where(lu_vil >= 0, vnames[np.maximum(lu_vil, 0)], community[lu_town])
    lu_order = np.lexsort((shapely.get_y(shapely.centroid(lu_geom)) * -1, lu_vil, lu_town))
    lu_geom, lu_code, lu_town, lu_vil, vil_name = (
        lu_geom[lu_order],
        lu_code[lu_order],
        lu_town[lu_order],
        lu_vil[lu_order],
        vil_name[lu_order],
    )
    lu_src = np.concatenate([patch_c, -1 - np.arange(len(pieces_arr))])[lu_order]  # coarse index, or -1 - piece index
    seq = pd.Series(np.arange(len(lu_geom))).groupby([lu_town, lu_vil]).cumcount().to_numpy() + 1
    width = max(4, len(str(seq.max())))
    lu_patch_no = np.char.zfill(seq.astype(str), width)

    # --- parcels ------------------------------------------------------------------------------------------------
    is_contract = np.isin(lu_code, CONTRACT) & (lu_src >= 0)
    # (a) contracted farmland: the fine cells of each patch (cut where the patch was cut)
    if kx * ky > 1:
        cpatch = np.flatnonzero(is_contract)
        src = lu_src[cpatch]
        a, b = np.meshgrid(np.arange(kx), np.arange(ky))
        a, b = a.ravel(), b.ravel()
        # each patch gets all fine cells of its coarse cell; cut patches intersect them with the patch
        fi = (ci_[src][:, None] * kx + a[None, :]).ravel()
        fj = (cj_[src][:, None] * ky + b[None, :]).ravel()
        fp = np.repeat(cpatch, kx * ky)
        quad = np.stack(
            [
                np.stack([X[fj + dj_, fi + di_], Y[fj + dj_, fi + di_]], axis=-1)
                for di_, dj_ in ((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))
            ],
            axis=1,
        )
        fine = shapely.polygons(quad)
        was_cut = touched[src].repeat(kx * ky)
        fine[was_cut] = polygonal(shapely.intersection(fine[was_cut], lu_geom[fp[was_cut]]))
        farm_geom, fidx = explode(fine)
        farm_patch = fp[fidx]
    else:
        farm_geom, farm_patch = lu_geom[is_contract], np.flatnonzero(is_contract)
    # (b) every other patch except water and villages: one parcel each
    other = np.flatnonzero(~is_contract & ~np.isin(lu_code, ["1101", "1102", "1103", "0702"]))
    # (c) villages: homesteads in rows along lanes, and the rest of the village land
    k = np.arange(v_cols.max() * v_rows.max())
    slot_c, slot_r = k % v_cols.max(), k // v_cols.max()
    vv = np.repeat(np.arange(n_v), len(k))
    sc, sr = np.tile(slot_c, n_v), np.tile(slot_r, n_v)
    use = (sc < v_cols[vv]) & (sr < v_rows[vv])
    vv, sc, sr = vv[use], sc[use], sr[use]
    vw_all = v_cols * (v_pw + 1.0) - 1.0 + 24
    vh_all = v_rows * (v_ph + 6.0) + 18
    vw_all[0], vh_all[0] = VILLAGE0[2] - VILLAGE0[0], VILLAGE0[3] - VILLAGE0[1]
    lx = -vw_all[vv] / 2 + 12 + sc * (v_pw[vv] + 1.0) + v_pw[vv] / 2
    ly = -vh_all[vv] / 2 + 12 + sr * (v_ph[vv] + 6.0) + v_ph[vv] / 2
    cos, sin = np.cos(v_ang[vv]), np.sin(v_ang[vv])
    homes = rotated_rects(vcx[vv] + lx * cos - ly * sin, vcy[vv] + lx * sin + ly * cos, v_pw[vv], v_ph[vv], v_ang[vv])
    vacant = rng.random(len(homes)) < 0.06
    vacant |= shapely.intersects(homes, shapely.union_all([rect(*A_CLEAN), rect(*A_SECOND), a_farm]).buffer(2))
    vacant[np.flatnonzero(vv == 0)[0]] = False  # 张家村's first plot: the household of the second-house anchor
    homes, hv = homes[~vacant], vv[~vacant]
    home_sets = shapely.multipolygons(homes, indices=hv)
    has_home = np.unique(hv)
    rest = vpoly.copy()
    rest[has_home] = shapely.difference(vpoly[has_home], home_sets)
    n_h = len(homes)
    h_seq = pd.Series(np.arange(n_h)).groupby(hv).cumcount().to_numpy() + 1
    vcode = np.char.zfill(v_seq.astype(str), 3)
    tcode = np.char.zfill((np.arange(len(TOWNSHIPS)) + 1).astype(str), 3)
    hh_prefix = np.char.add(np.char.add(f"HH{ADMIN}", tcode[v_town[hv]]), vcode[hv])
    household = np.char.add(np.char.add(hh_prefix, "-"), np.char.zfill(h_seq.astype(str), 4)).astype(object)
    home_owner = person_names(rng, n_h).astype(object)
    # a few households hold two homesteads (for the one-household-one-homestead check)
    cand_dbl = np.flatnonzero((np.arange(n_h) > 0) & (hv == np.roll(hv, 1)) & (hv != 0))
    dbl = np.sort(rng.choice(cand_dbl, size=min(len(cand_dbl), max(3, n_h // 250)), replace=False))
    dbl = dbl[~np.isin(dbl - 1, dbl)]
    household[dbl] = household[dbl - 1]
    home_owner[dbl] = home_owner[dbl - 1]

    # parcel attributes, block by block
    g_idx = 1 + (np.floor(ccx / 700).astype(int) * 7 + np.floor(ccy / 700).astype(int) * 3) % 6
    req_box = rect(A_REQ[0] - 200, A_REQ[1] - 200, A_REQ[2] + 200, A_REQ[3] + 200)
    in_req = shapely.contains_xy(req_box, ccx, ccy)
    g_idx = np.where(in_req, np.where(ccx < REQ_SPLIT_X, 1, 2), g_idx)  # two collective owners, exactly
    grp_name = np.char.add(np.char.add("第", np.asarray(NUMERALS)[g_idx - 1]), "村民小组")
    t_of = lu_town
    vil_of = vil_name
    committee = np.char.add(
        np.char.add(t_names[t_of], vil_of), np.where(np.char.endswith(vil_of, "村"), "民委员会", "居民委员会")
    )
    state = np.isin(lu_code, ["0701", "0505", "05H1", "0601", "0604", "08H2", "0809", "0810", "1003", "0602"])
    farm_grp = np.where(lu_src >= 0, grp_name[np.maximum(lu_src, 0)], "第一村民小组")
    farm_owner = np.char.add(np.char.add(t_names[t_of], vil_of), farm_grp)

    st = state[other]
    rest_geom, ridx = explode(rest)
    r_owner = np.char.add(np.char.add(t_names[v_town[ridx]], vnames[ridx]), "民委员会")
    blocks = [  # geometry, owner, owner_kind, household_id, right_type, land_class, township, village, village name, letters
        (
            farm_geom,
            farm_owner[farm_patch],
            "collective",
            None,
            "土地承包经营权",
            lu_code[farm_patch],
            t_of[farm_patch],
            lu_vil[farm_patch],
            vil_of[farm_patch],
            "JD",
        ),
        (
            lu_geom[other],
            np.where(st, STATE_OWNER, committee[other]),
            np.where(st, "state", "collective"),
            None,
            np.where(st, "国有建设用地使用权", "集体土地所有权"),
            lu_code[other],
            t_of[other],
            lu_vil[other],
            vil_of[other],
            np.where(st, "GB", "JA"),
        ),
        (rest_geom, r_owner, "collective", None, "集体土地所有权", "0702", v_town[ridx], ridx, vnames[ridx], "JA"),
        (homes, home_owner, "person", household, "宅基地使用权", "0702", v_town[hv], hv, vnames[hv], "JC"),
    ]
    keys = ("geom", "owner", "kind", "hh", "right", "cls", "t", "v", "vname", "letters")
    P = {
        key: np.concatenate(
            [
                np.asarray(b[i], dtype=object) if np.ndim(b[i]) else np.full(len(b[0]), b[i], dtype=object)
                for b in blocks
            ]
        )
        for i, key in enumerate(keys)
    }
    pdf = pd.DataFrame({k2: v2 for k2, v2 in P.items() if k2 != "geom"})
    p_geom = P["geom"]
    pdf["t"] = pdf["t"].astype(int)
    pdf["v"] = pdf["v"].astype(int)
    vc = np.where(pdf["v"].to_numpy() >= 0, vcode[np.maximum(pdf["v"].to_numpy(), 0)], "000")
    pseq = pdf.groupby(["t", "v", "letters"]).cumcount().to_numpy() + 1
    assert pseq.max() < 100_000, "parcel sequence overflows 5 digits"
    pdf["parcel_no"] = (
        ADMIN
        + tcode[pdf["t"].to_numpy()].astype(object)
        + vc.astype(object)
        + pdf["letters"]
        + np.char.zfill(pseq.astype(str), 5).astype(object)
    )
    pdf["township"] = t_names[pdf["t"].to_numpy()]

    # --- basic farmland: most paddy outside the urban boundary and the red line ---------------------------------
    redline = shapely.intersection(wobbly(HILLS[0] + 1500, HILLS[1] - 500, 6_800, rng, amp=0.2), hills_poly)
    redline = shapely.union(redline, a_red.buffer(150))
    redline = shapely.difference(
        redline,
        shapely.union_all(
            [
                shapely.union_all(mines).buffer(300),
                a_mine.buffer(300),
                shapely.union_all(vpoly).buffer(30),
                roads.buffer(1),
            ]
        ),
    )
    redline = multi(shapely.intersection(redline, outline))
    paddy = np.flatnonzero(np.char.startswith(lu_code.astype(str), "0101"))
    pick = rng.random(len(paddy)) < 0.84
    src = lu_src[paddy]
    forced = (src >= 0) & (force_bf[np.maximum(src, 0)] | req_w[np.maximum(src, 0)])
    bf_idx = paddy[pick | forced]
    bf_geom = lu_geom[bf_idx].copy()
    not_bf = shapely.union(urban, redline)
    shapely.prepare(not_bf)
    hit = shapely.intersects(not_bf, bf_geom)
    bf_geom[hit] = polygonal(shapely.difference(bf_geom[hit], not_bf))
    bf_parts, bpi = explode(bf_geom, min_area=50.0)
    bf_t = lu_town[bf_idx][bpi]
    bf_seq = pd.Series(np.arange(len(bf_parts))).groupby(bf_t).cumcount().to_numpy() + 1
    bf_no = np.char.add(np.char.add(tcode[bf_t], "-"), np.char.zfill(bf_seq.astype(str), 5))

    # --- price zones: rings round the town, hills cheapest ----------------------------------------------------
    req_c = ((A_REQ[0] + A_REQ[2]) / 2, (A_REQ[1] + A_REQ[3]) / 2)
    z1 = wobbly(TOWN[0], TOWN[1], 6_000, rng, amp=0.12, at=(*req_c, math.dist(TOWN, req_c)))
    z2 = wobbly(TOWN[0] + 1500, TOWN[1] + 2000, 15_000, rng, amp=0.15)
    z4 = shapely.difference(hills_poly, z1)
    zones_geom = [
        shapely.intersection(z1, outline),
        shapely.difference(shapely.intersection(z2, outline), shapely.union(z1, z4)),
        shapely.difference(outline, shapely.union_all([z1, z2, z4])),
        z4,
    ]

    # --- mining rights ----------------------------------------------------------------------------------------
    lic = []
    for i, m in enumerate(MINES):
        y0 = int(m[9][:4])
        if m[5] == "mining":
            lic.append(f"C421200{y0}{int(m[9][5:7]):02d}7130{12345 + 1111 * i:06d}")
        else:
            lic.append(f"T421200{y0}{int(m[9][5:7]):02d}02{4321 + 777 * i:07d}")
    mines_df = gpd.GeoDataFrame(
        {
            "licence_no": lic,
            "holder": [
                f"咸宁市{HOLDERS[i]}矿业有限公司" if m[5] == "mining" else f"湖北省地质局第{NUMERALS[i % 8]}地质大队"
                for i, m in enumerate(MINES)
            ],
            "kind": [m[5] for m in MINES],
            "mineral": [m[6] for m in MINES],
            "depth_top": [m[7] for m in MINES],
            "depth_bottom": [m[8] for m in MINES],
            "valid_from": [date.fromisoformat(m[9]) for m in MINES],
            "valid_to": [date.fromisoformat(m[10]) for m in MINES],
        },
        geometry=[MultiPolygon([p]) for p in mines],
        crs=GK,
    )

    def gdf(data: dict, geoms: np.ndarray) -> gpd.GeoDataFrame:
        single = shapely.get_type_id(geoms) == 3
        geoms = np.asarray(geoms, dtype=object).copy()
        geoms[single] = shapely.multipolygons(geoms[single].reshape(-1, 1)) if single.any() else geoms[single]
        return gpd.GeoDataFrame(data, geometry=geoms, crs=GK)

    layers: dict[str, gpd.GeoDataFrame] = {
        "townships": gdf(
            {"name": t_names, "code": [f"{ADMIN}{i + 1:03d}" for i in range(len(TOWNSHIPS))]}, town_polys_arr
        ),
        "landuse": gdf(
            {
                "dlbm": lu_code.astype(object),
                "patch_no": lu_patch_no.astype(object),
                "township": t_names[lu_town].astype(object),
                "village": vil_name.astype(object),
            },
            lu_geom,
        ),
        "parcels": gdf(
            {
                "parcel_no": pdf["parcel_no"].to_numpy(),
                "owner": pdf["owner"].to_numpy(),
                "owner_kind": pdf["kind"].to_numpy(),
                "household_id": pdf["hh"].to_numpy(),
                "right_type": pdf["right"].to_numpy(),
                "land_class": pdf["cls"].to_numpy(),
                "village": pdf["vname"].to_numpy(),
                "township": pdf["township"].to_numpy(),
            },
            p_geom,
        ),
        "village_boundary": gdf({"village": vnames.astype(object), "township": t_names[v_town].astype(object)}, vpoly),
        "basic_farmland": gdf({"patch_no": bf_no.astype(object), "township": t_names[bf_t].astype(object)}, bf_parts),
        "eco_redline": gdf(
            {"name": ["大幕山生态保护红线", "向阳湖湿地生态保护红线"], "kind": ["水源涵养", "湿地"]},
            np.array([redline, multi(lake)], dtype=object),
        ),
        "urban_boundary": gdf(
            {"name": ["咸安区中心城区城镇开发边界"]}, np.array([MultiPolygon([urban])], dtype=object)
        ),
        "mining_rights": mines_df,
        "land_price_zones": gdf(
            {
                "zone_no": [z for z, _ in PRICE_ZONES],
                "price_per_mu": [p for _, p in PRICE_ZONES],
                "land_share": [0.4] * 4,
                "resettlement_share": [0.6] * 4,
            },
            np.array([multi(z) for z in zones_geom], dtype=object),
        ),
    }
    t_build = time.perf_counter() - t0

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    counts: dict[str, int] = {}
    written: dict[str, gpd.GeoDataFrame] = {}
    try:
        import pyarrow  # noqa: F401

        arrow = True
    except ImportError:  # pragma: no cover
        arrow = False
    for name, frame in layers.items():
        frame = frame.to_crs(STORAGE)
        # parts that touch in metres can cross by a hair in degrees: repair those few after reprojection
        bad = ~shapely.is_valid(frame.geometry.values)
        if bad.any():
            frame.loc[bad, "geometry"] = [multi(shapely.make_valid(g)) for g in frame.geometry.values[bad]]
        frame.to_file(out, layer=name, driver="GPKG", engine="pyogrio", use_arrow=arrow)
        counts[name] = len(frame)
        written[name] = frame

    if anchors_out is not None:
        anchors = make_anchors(written, household0=str(household[0]), clean_hh=f"{hh_prefix[0]}-9001")
        anchors_out.parent.mkdir(parents=True, exist_ok=True)
        anchors_out.write_text(json.dumps(anchors, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    counts["villages"] = n_v
    counts["build_seconds"] = round(t_build)
    counts["seconds"] = round(time.perf_counter() - t0)
    return counts


def overlay_facts(geom: Polygon, frame: gpd.GeoDataFrame, by: str) -> dict[str, float]:
    """Overlap areas (m², EPSG:4526) of a geometry with a layer, summed per value of one column."""
    hits = frame.iloc[frame.sindex.query(geom, predicate="intersects")]
    areas = shapely.area(shapely.intersection(hits.geometry.values, geom))
    out: dict[str, float] = {}
    for key, a in zip(hits[by], areas, strict=True):
        if a > 0.01:
            out[str(key)] = round(out.get(str(key), 0.0) + float(a), 2)
    return dict(sorted(out.items()))


def make_anchors(layers: dict[str, gpd.GeoDataFrame], household0: str, clean_hh: str) -> dict[str, dict]:
    """The telling places with the facts the check engine should find there, measured on the layers as written."""
    to_ll = Transformer.from_crs(GK, STORAGE, always_xy=True)
    near = gpd.GeoSeries([rect(*A_REQ).buffer(12_000)], crs=GK).to_crs(STORAGE).total_bounds
    near = shapely.box(*near).union(
        gpd.GeoSeries([rect(*A_MINE).buffer(9_000)], crs=GK).to_crs(STORAGE).iloc[0].envelope
    )
    L = {
        name: frame.iloc[np.unique(frame.sindex.query(near, predicate="intersects"))].to_crs(GK)
        for name, frame in layers.items()
    }

    def anchor(geom: Polygon, **facts: object) -> dict[str, object]:
        ll = shapely.transform(geom, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))
        return {
            "gk_epsg": GK,
            "ring_gk": [[round(v, 3) for v in c] for c in geom.exterior.coords],
            "geojson": mapping(ll),
            "area_m2": round(geom.area, 3),
            **facts,
        }

    def common(geom: Polygon) -> dict[str, object]:
        return {
            "land_classes_m2": overlay_facts(geom, L["landuse"], "dlbm"),
            "basic_farmland_m2": round(sum(overlay_facts(geom, L["basic_farmland"], "patch_no").values()), 2),
            "redline_m2": round(sum(overlay_facts(geom, L["eco_redline"], "name").values()), 2),
            "outside_village_m2": round(
                geom.area - sum(overlay_facts(geom, L["village_boundary"], "village").values()), 2
            ),
            "outside_urban_m2": round(geom.area - sum(overlay_facts(geom, L["urban_boundary"], "name").values()), 2),
            "townships": sorted(overlay_facts(geom, L["townships"], "name")),
        }

    p = L["parcels"]
    homes = p[p.right_type == "宅基地使用权"]
    v0 = L["village_boundary"].iloc[0]
    clean, second, farm = rect(*A_CLEAN), rect(*A_SECOND), rect(*A_FARM)
    req, mine, red = rect(*A_REQ), rect(*A_MINE), rect(*A_RED)
    m = L["mining_rights"]
    mhits = m.iloc[m.sindex.query(mine, predicate="intersects")]
    assert list(mhits.index) == [0], "the mining anchor must overlap right no. 0 only"
    m0 = m.iloc[0]
    overlap = round(shapely.intersection(mine, m0.geometry).area, 3)
    existing_home = homes[homes.household_id == household0]
    hs = {"village": str(v0.village), "township": str(v0.township)}
    out = {
        "homestead_clean": anchor(
            clean,
            **hs,
            household_id=clean_hh,
            facts={**common(clean), "household_homesteads": 0},
            expect={"verdict": "pass"},
        ),
        "homestead_on_farmland": anchor(
            farm,
            **hs,
            household_id=clean_hh[:-4] + "9002",
            facts={**common(farm), "household_homesteads": 0},
            expect={"verdict": "block", "rules": {"HS-BF": "block", "HS-VIL": "warn"}},
        ),
        "homestead_second_house": anchor(
            second,
            **hs,
            household_id=household0,
            facts={
                **common(second),
                "household_homesteads": len(existing_home),
                "existing_parcels": sorted(existing_home.parcel_no),
            },
            expect={"verdict": "block", "rules": {"HS-ONE": "block"}},
        ),
        "requisition_50ha": anchor(
            req,
            facts={
                **common(req),
                "owners_m2": overlay_facts(req, p[p.owner_kind == "collective"], "owner"),
                "price_zones_m2": overlay_facts(req, L["land_price_zones"], "zone_no"),
            },
            expect={"rules": {"RQ-BF": "warn", "RQ-UDB": "warn"}},
        ),
        "mining_overlap": anchor(
            mine,
            licence_no=str(m0.licence_no),
            depth_top=MINE_APP_DEPTHS[0],
            depth_bottom=MINE_APP_DEPTHS[1],
            existing={
                "depth_top": float(m0.depth_top),
                "depth_bottom": float(m0.depth_bottom),
                "valid_from": str(m0.valid_from),
                "valid_to": str(m0.valid_to),
                "kind": str(m0.kind),
            },
            overlap_m2=overlap,
            facts=common(mine),
            expect={"verdict": "block", "rules": {"MN-RIGHT": "block"}},
        ),
        "mining_depth_disjoint": anchor(
            mine,
            licence_no=str(m0.licence_no),
            depth_top=MINE_DISJOINT_DEPTHS[0],
            depth_bottom=MINE_DISJOINT_DEPTHS[1],
            existing={"depth_top": float(m0.depth_top), "depth_bottom": float(m0.depth_bottom)},
            overlap_m2=overlap,
            facts=common(mine),
            expect={"rules": {"MN-RIGHT": "pass"}},
        ),
        "redline": anchor(red, facts=common(red), expect={"verdict": "block", "rules": {"HS-RED": "block"}}),
    }
    return out


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

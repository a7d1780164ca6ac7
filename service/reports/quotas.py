"""The planners' ledgers: the annual new-construction-land quota per township (新增建设用地计划指标) and the registered
offset projects of new cultivated land (耕地占补平衡), debited by every approved conversion of farmland.

The quotas and projects are loaded from the plan's and the registry's tables (CSV or XLSX, one transaction, every
bad cell named with its line and column); the debits are worked out from the approved conversions' stored checks
each time the ledger is read, so a table loaded late still counts for the conversions approved before it. A
conversion approved beyond its township's quota, or with 耕地 no registered project had offset yet, is flagged.
Rules and column names: service/data/quotas.toml.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.crs import m2_to_ha
from service.clocks.calendar import LOCAL_TZ
from service.core.errors import InvalidInput
from service.core.models import LandQuota, OffsetProject
from service.core.tables import read_table
from service.reports.conversions import Conversion, ConversionFilter, list_conversions

M2_PER = {"ha": 10_000.0, "mu": 10_000.0 / 15, "m2": 1.0}
AREA_TOLERANCE_M2 = 0.01


@cache
def rules() -> dict[str, Any]:
    """Return the ledgers' table (service/data/quotas.toml)."""
    return read_table("quotas.toml")


# --- reading the tables ---------------------------------------------------------------------------------------------


def _word(cell: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", cell)).lower()


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime | date):
        return v.isoformat()[:10]
    return unicodedata.normalize("NFKC", str(v)).strip()


def _decode(data: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"{name}: 无法识别编码（应为 UTF-8 或 GBK）/ cannot decode the file (expected UTF-8 or GBK)")


def _rows(data: bytes, name: str) -> Iterator[tuple[int, list[str]]]:
    limits = rules()["limits"]
    if len(data) > int(limits["max_bytes"]):
        raise InvalidInput(
            f"{name}: 文件超过 {int(limits['max_bytes']) // 1048576} MB / the file is larger than allowed"
        )
    if not data.strip():
        raise InvalidInput(f"{name}: 文件为空 / the file is empty")
    if data[:4] == b"PK\x03\x04":
        yield from _xlsx_rows(data, name)
        return
    if b"\x00" in data[:4096]:
        raise InvalidInput(f"{name}: 不是 CSV 或 XLSX 文件 / neither a CSV nor an XLSX file")
    text = _decode(data, name)
    lines = text.splitlines()
    delimiter = max((",", "\t", ";"), key=lambda d: sum(line.count(d) for line in lines[:5]))
    for number, cells in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
        yield number, [_text(c) for c in cells]


def _xlsx_rows(data: bytes, name: str) -> Iterator[tuple[int, list[str]]]:
    import openpyxl  # only a loaded XLSX needs it

    most = int(rules()["limits"]["xlsx_max_expanded_bytes"])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            expanded = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"{name}: 不是有效的 XLSX 文件 / not a valid XLSX file") from exc
    if expanded > most:
        raise InvalidInput(
            f"{name}: XLSX 解压后 {expanded} 字节，超过上限 / the XLSX expands to {expanded} bytes, over {most}"
        )
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a malformed workbook
        raise InvalidInput(f"{name}: XLSX 无法读取 / the XLSX cannot be read: {type(exc).__name__}") from exc
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_text(v) for v in values]
    finally:
        book.close()


@dataclass
class _Table:
    name: str
    header_line: int
    columns: dict[str, int]
    rows: list[tuple[int, list[str]]]
    issues: list[str] = field(default_factory=list)

    def cell(self, cells: list[str], role: str) -> str:
        i = self.columns.get(role)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    def problem(self, line: int, role: str, zh: str, en: str) -> None:
        self.issues.append(f"{self.name} 第 {line} 行 {role}：{zh} / line {line}, {role}: {en}")


def _table(data: bytes, name: str, section: str, required: tuple[str, ...]) -> _Table:
    words = {role: {_word(w) for w in aliases} for role, aliases in rules()[section]["columns"].items()}
    most = int(rules()["limits"]["max_rows"])
    header: tuple[int, dict[str, int]] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, cells in _rows(data, name):
        if not any(cells):
            continue
        if header is None:
            found = {role: i for i, c in enumerate(cells) for role, ws in words.items() if _word(c) in ws}
            if set(required) <= set(found) or any(r in found for r in required[:1]):
                header = (number, found)
            continue
        if len(rows) >= most:
            raise InvalidInput(f"{name}: 超过 {most} 行 / more than {most} rows")
        rows.append((number, cells))
    if header is None:
        known = "; ".join(f"{r}: {'/'.join(rules()[section]['columns'][r])}" for r in required)
        raise InvalidInput(f"{name}: 找不到表头 / no header row naming the columns ({known})")
    table = _Table(name, header[0], header[1], rows)
    missing = [r for r in required if r not in table.columns]
    if missing:
        raise InvalidInput(
            f"{name} 第 {header[0]} 行：表头缺少 {', '.join(missing)} / line {header[0]}: the header has no column "
            f"for {', '.join(missing)}"
        )
    return table


def _area(table: _Table, cells: list[str], line: int, prefix: str) -> float | None:
    given = [(unit, table.cell(cells, f"{prefix}_{unit}")) for unit in M2_PER if f"{prefix}_{unit}" in table.columns]
    given = [(u, v) for u, v in given if v]
    if not given:
        table.problem(line, prefix, "缺少面积", "the area is missing")
        return None
    unit, value = given[0]
    try:
        m2 = float(value.replace(",", "")) * M2_PER[unit]
    except ValueError:
        table.problem(line, f"{prefix}_{unit}", f"“{value}”不是数字", f"{value!r} is not a number")
        return None
    if m2 < 0 or m2 != m2:
        table.problem(line, f"{prefix}_{unit}", f"面积 {value} 不能为负", f"the area {value} is negative")
        return None
    return m2


def _area_columns(section: str, prefix: str) -> list[str]:
    return [f"{prefix}_{u}" for u in M2_PER if f"{prefix}_{u}" in rules()[section]["columns"]]


def _refuse(table: _Table) -> None:
    if table.issues:
        shown = table.issues[:30]
        more = f"（另有 {len(table.issues) - 30} 处 / {len(table.issues) - 30} more）" if len(table.issues) > 30 else ""
        raise InvalidInput("；".join(shown) + more, issues=table.issues)


def _with_area_header(table: _Table, section: str, prefix: str) -> None:
    if not any(c in table.columns for c in _area_columns(section, prefix)):
        raise InvalidInput(
            f"{table.name} 第 {table.header_line} 行：表头缺少面积列（{' / '.join(_area_columns(section, prefix))}）/ "
            f"line {table.header_line}: the header has no area column"
        )


@dataclass
class LoadResult:
    """What a load wrote."""

    rows: int
    years: list[int] = field(default_factory=list)
    total_m2: float = 0.0


def load_plan(session: Session, data: bytes, name: str, county: str) -> LoadResult:
    """Load a county's plan table (year, township, quota): that county's years it names are replaced in one
    transaction."""
    table = _table(data, name, "plan", ("year", "township"))
    _with_area_header(table, "plan", "quota")
    seen: dict[tuple[int, str], int] = {}
    rows: list[dict[str, Any]] = []
    for line, cells in table.rows:
        year_text, township = table.cell(cells, "year"), table.cell(cells, "township")
        year = int(year_text) if re.fullmatch(r"(19|20)\d\d", year_text) else None
        if year is None:
            table.problem(line, "year", f"“{year_text}”不是年份", f"{year_text!r} is not a year")
        if not township:
            table.problem(line, "township", "缺少乡镇", "the township is missing")
        m2 = _area(table, cells, line, "quota")
        if year is None or not township or m2 is None:
            continue
        if (year, township) in seen:
            table.problem(
                line,
                "township",
                f"{year} 年 {township} 与第 {seen[(year, township)]} 行重复",
                f"{year} {township} repeats line {seen[(year, township)]}",
            )
            continue
        seen[(year, township)] = line
        rows.append({"county": county, "year": year, "township": township, "quota_m2": m2, "source": name})
    _refuse(table)
    if not rows:
        raise InvalidInput(f"{name}: 没有指标行 / no quota rows")
    years = sorted({r["year"] for r in rows})
    session.execute(delete(LandQuota).where(LandQuota.county == county, LandQuota.year.in_(years)))
    session.execute(insert(LandQuota), rows)
    session.flush()
    return LoadResult(len(rows), years, sum(r["quota_m2"] for r in rows))


def load_offsets(session: Session, data: bytes, name: str, county: str) -> LoadResult:
    """Load a county's registered offset projects: new ones are added, known ones (by project number) take the new
    facts."""
    table = _table(data, name, "offsets", ("project_no", "accepted_on"))
    _with_area_header(table, "offsets", "area")
    seen: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for line, cells in table.rows:
        number = table.cell(cells, "project_no")
        if not number:
            table.problem(line, "project_no", "缺少项目编号", "the project number is missing")
            continue
        if number in seen:
            table.problem(line, "project_no", f"与第 {seen[number]} 行重复", f"repeats line {seen[number]}")
            continue
        seen[number] = line
        accepted_text = table.cell(cells, "accepted_on").replace("/", "-").replace(".", "-")
        try:
            accepted = date.fromisoformat(accepted_text[:10])
        except ValueError:
            table.problem(
                line, "accepted_on", f"“{accepted_text}”不是日期", f"{accepted_text!r} is not a date (YYYY-MM-DD)"
            )
            accepted = None
        grade_text = table.cell(cells, "grade")
        grade = int(float(grade_text)) if re.fullmatch(r"\d+(\.0+)?", grade_text) else None
        if grade_text and (grade is None or not 1 <= grade <= 15):
            table.problem(line, "grade", f"质量等别“{grade_text}”应为 1–15", f"the grade {grade_text!r} must be 1–15")
        m2 = _area(table, cells, line, "area")
        if m2 is not None and m2 <= 0:
            table.problem(line, "area", "新增耕地面积须大于零", "the new cultivated area must be above zero")
            continue
        if accepted is None or m2 is None:
            continue
        rows.append(
            {
                "county": county,
                "project_no": number,
                "name": table.cell(cells, "name") or number,
                "township": table.cell(cells, "township") or None,
                "area_m2": m2,
                "grade": grade,
                "accepted_on": accepted,
                "source": name,
            }
        )
    _refuse(table)
    if not rows:
        raise InvalidInput(f"{name}: 没有项目行 / no project rows")
    stmt = insert(OffsetProject).values(rows)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["county", "project_no"],
            set_={c: stmt.excluded[c] for c in ("name", "township", "area_m2", "grade", "accepted_on", "source")},
        )
    )
    session.flush()
    return LoadResult(len(rows), [], sum(r["area_m2"] for r in rows))


def load_file(session: Session, path: Path, what: str, county: str) -> LoadResult:
    """Load a county's plan (`plan`) or offsets (`offsets`) table from a file, reading at most the size allowed."""
    most = int(rules()["limits"]["max_bytes"])
    with path.open("rb") as f:
        data = f.read(most + 1)
    return (load_plan if what == "plan" else load_offsets)(session, data, path.name, county)


# --- the ledger -----------------------------------------------------------------------------------------------------


@dataclass
class Debit:
    """What one approved conversion takes from the ledgers."""

    conversion: Conversion
    year: int
    agricultural_m2: float
    cultivated_m2: float
    quota_short_m2: float = 0.0
    no_quota: bool = False
    offsets: list[tuple[str, float]] = field(default_factory=list)
    offset_short_m2: float = 0.0

    @property
    def flags(self) -> list[dict[str, Any]]:
        """Return what is wrong with it: approved without quota, or without offset."""
        c = self.conversion
        out = []
        if self.quota_short_m2 > AREA_TOLERANCE_M2:
            where = c.township or "未填乡镇 / no township"
            out.append(
                {
                    "kind": "quota",
                    "short_m2": round(self.quota_short_m2, 2),
                    "message": f"{c.case_no}：{where} {self.year} 年新增建设用地计划指标"
                    + ("未下达" if self.no_quota else "不足")
                    + f"，缺 {self.quota_short_m2:.2f} 平方米",
                    "message_en": f"{c.case_no}: {where} has "
                    + ("no" if self.no_quota else "too little")
                    + f" {self.year} construction-land quota; {self.quota_short_m2:.2f} m² short",
                }
            )
        if self.offset_short_m2 > AREA_TOLERANCE_M2:
            out.append(
                {
                    "kind": "offset",
                    "short_m2": round(self.offset_short_m2, 2),
                    "message": f"{c.case_no}：占用耕地未落实占补平衡 {self.offset_short_m2:.2f} 平方米",
                    "message_en": f"{c.case_no}: {self.offset_short_m2:.2f} m² of cultivated land taken without an offset",
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready debit."""
        c = self.conversion
        return {
            "case_id": c.case_id,
            "case_no": c.case_no,
            "kind": c.kind,
            "township": c.township,
            "approved_at": c.approved_at.isoformat() if c.approved_at else None,
            "year": self.year,
            "agricultural_m2": round(self.agricultural_m2, 2),
            "cultivated_m2": round(self.cultivated_m2, 2),
            "quota_short_m2": round(self.quota_short_m2, 2),
            "offsets": [{"project_no": p, "area_m2": round(m2, 2)} for p, m2 in self.offsets],
            "offset_short_m2": round(self.offset_short_m2, 2),
            "flags": self.flags,
        }


@dataclass
class QuotaLine:
    """A township's quota of a year, what approved conversions used of it and what remains."""

    year: int
    township: str
    quota_m2: float | None
    used_m2: float = 0.0
    cases: int = 0
    county: str = ""

    @property
    def remaining_m2(self) -> float:
        """Return the quota left (negative: used beyond it)."""
        return (self.quota_m2 or 0.0) - self.used_m2

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready line (m² and ha)."""
        q = self.quota_m2
        return {
            "year": self.year,
            "county": self.county,
            "township": self.township,
            "quota_m2": None if q is None else round(q, 2),
            "quota_ha": None if q is None else round(m2_to_ha(q), 4),
            "used_m2": round(self.used_m2, 2),
            "used_ha": round(m2_to_ha(self.used_m2), 4),
            "remaining_m2": round(self.remaining_m2, 2),
            "remaining_ha": round(m2_to_ha(self.remaining_m2), 4),
            "cases": self.cases,
        }


@dataclass
class OffsetLine:
    """A registered offset project and what conversions used of it."""

    project: OffsetProject
    used_m2: float = 0.0
    cases: list[str] = field(default_factory=list)

    @property
    def remaining_m2(self) -> float:
        """Return the new cultivated land still free."""
        return self.project.area_m2 - self.used_m2

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready line."""
        p = self.project
        return {
            "county": p.county,
            "project_no": p.project_no,
            "name": p.name,
            "township": p.township,
            "grade": p.grade,
            "accepted_on": p.accepted_on.isoformat(),
            "area_m2": round(p.area_m2, 2),
            "used_m2": round(self.used_m2, 2),
            "remaining_m2": round(self.remaining_m2, 2),
            "cases": self.cases,
        }


@dataclass
class Ledger:
    """The quota of a year per township, the offset projects, and the year's approved conversions with their debits."""

    year: int
    quotas: list[QuotaLine]
    offsets: list[OffsetLine]
    debits: list[Debit]
    every: list[Debit] = field(default_factory=list, repr=False)
    """The debits of every year (the flags of a conversion listed beside others)."""

    def flags_by_case(self) -> dict[str, list[dict[str, Any]]]:
        """Return the flags of every flagged conversion, any year, by case number."""
        return {d.conversion.case_no: d.flags for d in self.every if d.flags}

    @property
    def flagged(self) -> list[Debit]:
        """Return the year's conversions approved without quota or without offset."""
        return [d for d in self.debits if d.flags]

    def totals(self) -> dict[str, float]:
        """Return the county's quota, used and remaining of the year, and the offset area, used and remaining."""
        return {
            "quota_m2": round(sum(q.quota_m2 or 0.0 for q in self.quotas), 2),
            "used_m2": round(sum(q.used_m2 for q in self.quotas), 2),
            "remaining_m2": round(sum(q.remaining_m2 for q in self.quotas), 2),
            "offset_m2": round(sum(o.project.area_m2 for o in self.offsets), 2),
            "offset_used_m2": round(sum(o.used_m2 for o in self.offsets), 2),
            "offset_remaining_m2": round(sum(o.remaining_m2 for o in self.offsets), 2),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready ledger."""
        return {
            "year": self.year,
            "totals": self.totals(),
            "quotas": [q.to_dict() for q in self.quotas],
            "offsets": [o.to_dict() for o in self.offsets],
            "conversions": [d.to_dict() for d in self.debits],
            "flagged": [d.to_dict() for d in self.flagged],
        }


def _local_year(c: Conversion) -> int:
    assert c.approved_at is not None
    return c.approved_at.astimezone(LOCAL_TZ).year


def debits(session: Session, county: str | None = None) -> list[Debit]:
    """Work out every approved conversion's debits in the order of approval (quota per township and year; offsets
    first accepted, first used, and only by conversions approved on or after the project's acceptance); of one
    county's conversions when `county` (a GB/T 2260 code) is given. Each county's conversions draw on that county's
    quotas and offset projects only."""
    approved = sorted(
        list_conversions(session, ConversionFilter(state="approved"), county).rows,
        key=lambda c: (c.approved_at or c.received_at, c.case_id),
    )
    quotas = {(q.county, q.year, q.township): q.quota_m2 for q in session.scalars(_of_county(LandQuota, county))}
    projects: dict[str, list[OffsetProject]] = defaultdict(list)
    for p in session.scalars(
        _of_county(OffsetProject, county).order_by(OffsetProject.accepted_on, OffsetProject.project_no)
    ):
        projects[p.county].append(p)
    left = {(p.county, p.project_no): p.area_m2 for ps in projects.values() for p in ps}
    used: dict[tuple[str, int, str], float] = defaultdict(float)
    out = []
    for c in approved:
        year = _local_year(c)
        d = Debit(c, year, c.agricultural_m2, c.cultivated_m2)
        key = (c.county, year, c.township or "")
        quota = quotas.get(key)
        d.no_quota = quota is None
        d.quota_short_m2 = min(d.agricultural_m2, max(0.0, used[key] + d.agricultural_m2 - (quota or 0.0)))
        used[key] += d.agricultural_m2
        need = d.cultivated_m2
        day = (c.approved_at or c.received_at).astimezone(LOCAL_TZ).date()
        for p in projects[c.county]:
            if need <= AREA_TOLERANCE_M2:
                break
            if p.accepted_on > day or left[(p.county, p.project_no)] <= AREA_TOLERANCE_M2:
                continue
            take = min(need, left[(p.county, p.project_no)])
            left[(p.county, p.project_no)] -= take
            need -= take
            d.offsets.append((p.project_no, take))
        d.offset_short_m2 = max(0.0, need)
        out.append(d)
    return out


def _of_county(model: type[LandQuota] | type[OffsetProject], county: str | None) -> Select[Any]:
    query = select(model)
    return query if county is None else query.where(model.county == county)


def ledger(session: Session, year: int, county: str | None = None) -> Ledger:
    """Return the ledger of a year: its quotas with what was used, every offset project, the year's conversions (of
    one county when `county` is given: what staff of one county may see; else every county's, line by line)."""
    all_debits = debits(session, county)
    lines = {
        (q.county, q.township): QuotaLine(year, q.township, q.quota_m2, county=q.county)
        for q in session.scalars(
            _of_county(LandQuota, county).where(LandQuota.year == year).order_by(LandQuota.county, LandQuota.township)
        )
    }
    for d in all_debits:
        if d.year != year:
            continue
        town = d.conversion.township or ""
        line = lines.setdefault((d.conversion.county, town), QuotaLine(year, town, None, county=d.conversion.county))
        line.used_m2 += d.agricultural_m2
        line.cases += 1
    offsets = {
        (p.county, p.project_no): OffsetLine(p)
        for p in session.scalars(
            _of_county(OffsetProject, county).order_by(OffsetProject.accepted_on, OffsetProject.project_no)
        )
    }
    for d in all_debits:
        for number, m2 in d.offsets:
            offsets[(d.conversion.county, number)].used_m2 += m2
            offsets[(d.conversion.county, number)].cases.append(d.conversion.case_no)
    return Ledger(
        year,
        sorted(lines.values(), key=lambda q: (q.county, q.quota_m2 is None, q.township)),
        list(offsets.values()),
        [d for d in all_debits if d.year == year],
        all_debits,
    )


def parse_year(value: str | int | None, default: int) -> int:
    """Return a ledger year from a query (2000–2100), or InvalidInput naming it."""
    if value is None or value == "":
        return default
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}", text) or not 2000 <= int(text) <= 2100:
        raise InvalidInput(f"year 应为 2000–2100 的年份（收到 {text!r}）/ year must be 2000–2100 (got {text!r})")
    return int(text)

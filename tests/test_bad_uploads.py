"""Bad boundary files posted to every upload: a 4xx naming the problem, never a 5xx, and nothing written.

The uploads: POST /api/v1/checks (`file`), POST /api/v1/cases/{id}/boundary (`file`), POST /api/v1/cases (its
`boundary` is GeoJSON in the JSON body, so the corpus's GeoJSON files go there) and the web intake form /cases/new
(`boundary_file`, posted with action=create). The malformed corpus (tests/data/bad_boundaries, expected.toml) must
be refused with its expected code and line; hypothesis mutations of the sample application files (bytes flipped,
cut, inserted, deleted) are either still valid or refused the same way. After every refusal the counts of cases,
check runs, audit entries and case materials and every case's geometry and version are as before.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from pathlib import Path

import hypothesis
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from markupsafe import escape

from gis.boundary import BoundaryError, read_boundary_bytes
from tests.support.api import Api
from tests.support.fuzz import APPLICATIONS, FILE_EXAMPLES, SEED, counts, load_sample_county, seed_cases

BAD = Path(__file__).resolve().parent / "data" / "bad_boundaries"
EXPECTED = tomllib.loads((BAD / "expected.toml").read_text("utf-8"))
SAMPLES = sorted(p.name for p in APPLICATIONS.iterdir() if p.is_file())
INTERESTING = [
    b",",
    b"\r\n",
    b"\n",
    b"@",
    b"-",
    b".",
    b"9" * 12,
    b"\xef\xbc\x8c",
    b"\x00",
    b"NaN",
    b"1e308",
    b"[",
    b"{",
]


def kind_of(name: str) -> str:
    """The application kind a file belongs to."""
    if "mining" in name:
        return "mining"
    if "requisition" in name or name.endswith(".geojson"):
        return "requisition"
    return "homestead"


class Uploads:
    """Posts one file to every upload endpoint and checks each answer and that a refusal wrote nothing."""

    def __init__(self, client: TestClient, api: Api, conn, cases: dict[str, int]) -> None:
        self.client, self.api, self.conn, self.cases = client, api, conn, cases
        self.posted = 0
        # the web intake as the clerk: the same client, logged in by cookie (the API calls send their bearer token)
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        r = client.post(
            "/login",
            data={"username": "clerk", "password": api.staff["clerk"]["password"], "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        page = client.get("/cases/new").text
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    def _version(self, case_id: int) -> int:
        with self.conn.cursor() as cur:
            cur.execute("SELECT version FROM cases WHERE id = %s", (case_id,))
            row = cur.fetchone()
        self.conn.commit()
        assert row is not None
        return int(row[0])

    def requests(self, name: str, data: bytes):
        """Yield (endpoint, send) for every upload that takes this file."""
        kind = kind_of(name)
        case_id = self.cases[kind]
        files = {"file": (name, data, "application/octet-stream")}
        yield "POST /api/v1/checks", lambda: self.api.post("/api/v1/checks", data={"kind": kind}, files=files)
        yield (
            f"POST /api/v1/cases/{case_id}/boundary",
            lambda: self.api.post(
                f"/api/v1/cases/{case_id}/boundary", data={"version": str(self._version(case_id))}, files=files
            ),
        )
        web_form = {"csrf_token": self.csrf, "kind": kind, "applicant_name": "模糊测试", "action": "create"}
        yield (
            "POST /cases/new",
            lambda: self.client.post(
                "/cases/new",
                data=web_form,
                files={"boundary_file": (name, data, "application/octet-stream")},
                follow_redirects=False,
            ),
        )
        if name.endswith(".geojson"):
            try:
                geojson = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                # not JSON at all: the body itself is broken
                body = b'{"kind": "%s", "applicant_name": "x", "boundary": ' % kind.encode() + data + b"}"
                yield (
                    "POST /api/v1/cases (raw)",
                    lambda: self.api.post("/api/v1/cases", content=body, headers={"Content-Type": "application/json"}),
                )
            else:
                body = {"kind": kind, "applicant_name": "模糊测试", "applicant_type": "unit", "boundary": geojson}
                yield "POST /api/v1/cases", lambda: self.api.post("/api/v1/cases", json=body)

    def post_everywhere(self, name: str, data: bytes, must_refuse: bool) -> list[tuple[str, object]]:
        """Post the file to every upload; return the refusals (endpoint, response)."""
        refusals = []
        for endpoint, send in self.requests(name, data):
            before = counts(self.conn)
            r = send()
            self.posted += 1
            where = f"{name} ({len(data)} bytes) → {endpoint}: {r.status_code}"
            assert r.status_code < 500, f"{where} {r.text[:2000]}"
            if 200 <= r.status_code < 400:
                assert not must_refuse, f"{where}: a malformed file was accepted"
                continue
            assert 400 <= r.status_code < 500, where
            assert counts(self.conn) == before, f"{where}: a refused upload wrote something"
            assert "landwindow-upload-" not in r.text, f"{where}: the refusal shows the server's temporary folder"
            refusals.append((endpoint, r))
        return refusals


@pytest.fixture
def uploads(api, conn):
    """The app over the sample county with one received case of each kind (boundary set, not yet accepted)."""
    load_sample_county(conn)
    client = api.client
    seeded = seed_cases(api, accept=False)
    cases = dict(zip(("homestead", "requisition", "mining"), seeded.case_ids, strict=True))
    yield Uploads(client, api, conn, cases)


def expected_issue(name: str) -> tuple[str, int | None, str]:
    """The expected code and line of a corpus file and the parser's English message for it."""
    exp = EXPECTED[name]
    with pytest.raises(BoundaryError) as info:
        read_boundary_bytes((BAD / name).read_bytes(), name)
    first = info.value.issues[0]
    assert first.code == exp["code"]
    return exp["code"], exp.get("line"), first.message_en


def test_every_malformed_file_is_refused_everywhere_naming_the_problem_and_writing_nothing(uploads):
    started = time.monotonic()
    for name in sorted(EXPECTED):
        code, line, message_en = expected_issue(name)
        for endpoint, r in uploads.post_everywhere(name, (BAD / name).read_bytes(), must_refuse=True):
            where = f"{name} → {endpoint}"
            if endpoint == "POST /cases/new":
                assert r.status_code == 422, where
                html = r.text  # the intake form again, the error above it
                assert str(escape(message_en)) in html, f"{where}: {message_en!r} not shown"
                if line is not None:
                    assert f"line {line}" in html, where
                continue
            body = r.json()
            assert isinstance(body["detail"], str | list) and body["detail"], where
            if endpoint == "POST /api/v1/cases (raw)":
                assert r.status_code == 422 and body["detail"][0]["type"] == "json_invalid", where
                continue
            assert r.status_code == 422, f"{where}: {r.status_code} {body}"
            assert " / " in body["detail"], f"{where}: the message is Chinese / English: {body['detail']}"
            issues = body["issues"]
            if endpoint == "POST /api/v1/cases":  # drawn GeoJSON: read by the map reader, not the file reader
                assert issues and all(i["code"] and i["message_zh"] and i["message_en"] for i in issues), where
                continue
            assert (issues[0]["code"], issues[0]["line"]) == (code, line), f"{where}: {issues[0]}"
    print(f"corpus: {len(EXPECTED)} files, {uploads.posted} uploads refused in {time.monotonic() - started:.1f} s")


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A sample application file with a few bytes flipped, cut, inserted or deleted."""
    name = draw(st.sampled_from(SAMPLES), label="file")
    data = bytearray((APPLICATIONS / name).read_bytes())
    where = draw(st.randoms(use_true_random=False), label="positions")  # uniform over the file, not biased to 0
    for op in draw(st.lists(st.sampled_from(["flip", "truncate", "insert", "delete"]), min_size=1, max_size=4)):
        if not data:
            break
        at = where.randrange(len(data))
        if op == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=8))
        else:
            del data[at : at + draw(st.integers(1, 32))]
    return name, bytes(data)


def test_mutated_sample_files_are_valid_or_refused_cleanly_and_write_nothing(uploads):
    started = time.monotonic()
    refused = 0

    @hypothesis.settings(
        max_examples=FILE_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.seed(SEED)
    @hypothesis.given(mutated())
    def run(sample: tuple[str, bytes]) -> None:
        nonlocal refused
        name, data = sample
        for endpoint, r in uploads.post_everywhere(name, data, must_refuse=False):
            refused += 1
            where = f"{name} ({len(data)} bytes) → {endpoint}"
            if endpoint == "POST /cases/new":
                assert "/ " in r.text, where
                continue
            detail = r.json()["detail"]
            assert detail, where
            if endpoint != "POST /api/v1/cases (raw)":  # a body that is not JSON gets FastAPI's own message
                assert isinstance(detail, list) or " / " in detail, (
                    f"{where}: the message is Chinese / English: {detail}"
                )

    run()
    print(
        f"mutations: {FILE_EXAMPLES} files, {uploads.posted} uploads, {refused} refused, {time.monotonic() - started:.1f} s"
    )

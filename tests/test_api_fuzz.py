"""Schemathesis over the whole OpenAPI schema, in-process (ASGI), as every role and anonymous.

Every operation gets a few generated requests (valid and invalid) per role; half of them aim their path parameters
at rows that exist (seeded cases, their tasks, case numbers and query codes). No answer may be a 5xx, and every
answer with a documented status must match its declared schema. `make fuzz` runs the same with many more examples.
"""

from __future__ import annotations

import time

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.support.api import Api
from tests.support.fuzz import API_EXAMPLES, ROLES, SEED, Seeded, load_sample_county, seed_cases, seed_online
from web.app import create_app

CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def fuzz_app(make_settings, db_url, conn, staff, tmp_path):
    """The real app over the sample county with seeded cases, run in-process by schemathesis' ASGI transport."""
    load_sample_county(conn)
    settings = make_settings()
    app = create_app(settings)
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app's lifespan
        with asgi.get_client(app) as client:
            api = Api(client, staff)  # type: ignore[arg-type]  # a requests session with the same calls
            seeded = seed_cases(api)
            seeded.online = seed_online(api, seeded, conn)  # the online window's announcement, response, upload
            yield schema, api, seeded
    finally:
        asgi.shutdown_lifespans()  # close the pool before the test database is dropped


def real_values(seeded: Seeded, layer_names: list[str]) -> dict[str, list]:
    """Values of path parameters that name existing rows."""
    return {
        "case_id": seeded.case_ids,
        "task_id": seeded.task_ids,
        "case_no": seeded.case_nos,
        "layer_name": layer_names,
        **seeded.online,
    }


def _aim(case, real: dict[str, list], pick: st.DataObject, seeded: Seeded) -> None:
    """Point some path parameters (and the query code) at existing rows."""
    params = case.path_parameters or {}
    for name in list(params):
        if real.get(name) and pick.draw(st.booleans(), label=f"real {name}"):
            params[name] = pick.draw(st.sampled_from(real[name]), label=name)
    case_no = params.get("case_no")
    if case_no in seeded.query_codes and pick.draw(st.booleans(), label="real query code"):
        case.headers = {**(case.headers or {}), "X-Query-Code": seeded.query_codes[case_no]}


def fuzz_operation(operation, api: Api, seeded: Seeded, real: dict[str, list], role: str | None, examples: int) -> None:
    """Send `examples` generated requests to one operation as one role; raise on the first failed check."""
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    headers = api.headers(role)

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.seed(SEED)
    @hypothesis.given(case=strategy, pick=st.data())
    def run(case, pick) -> None:
        _aim(case, real, pick, seeded)
        response = case.call(session=api.client, headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


def test_every_operation_as_every_role_never_5xx_and_keeps_its_schema(fuzz_app):
    schema, api, seeded = fuzz_app
    from gis.catalog import catalog

    real = real_values(seeded, list(catalog()))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, "the whole schema is fuzzed"
    failures: list[str] = []
    started = time.monotonic()
    for operation in operations:
        for role in ROLES:
            try:
                fuzz_operation(operation, api, seeded, real, role, API_EXAMPLES)
            except (Exception, BaseExceptionGroup) as exc:  # every failing pair, not just the first (FailureGroup)
                failures.append(f"{operation.label} as {role or 'anonymous'}:\n{exc}")
    elapsed = time.monotonic() - started
    print(f"fuzzed {len(operations)} operations × {len(ROLES)} roles × {API_EXAMPLES} examples in {elapsed:.1f} s")
    assert not failures, f"{len(failures)} failing operation/role pairs:\n\n" + "\n\n".join(failures)


def test_values_postgresql_cannot_take_are_422_not_500(make_settings, db_url, conn, staff, tmp_path):
    from fastapi.testclient import TestClient

    settings = make_settings()
    with TestClient(create_app(settings)) as client:
        api = Api(client, staff)
        # found by the fuzz run: a NUL character in a case's field reached PostgreSQL and was a 500
        r = api.post("/api/v1/cases", json={"kind": "homestead", "applicant_name": "张\x00三"})
        assert r.status_code == 422, r.text
        assert "NUL" in r.json()["detail"] and " / " in r.json()["detail"]
        assert api.get("/api/v1/cases", params={"kind": "\x00"}).status_code < 500
        assert api.get("/api/v1/cases", params={"offset": 2**63}).status_code == 422  # was a 500 (bigint out of range)
        assert api.get(f"/api/v1/cases/{2**63}").status_code == 422
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM cases")
        assert cur.fetchone() == (0,)


def test_the_online_window_refuses_bad_input_with_4xx_and_writes_nothing(make_settings, db_url, conn, staff, one_map):
    """The public endpoints found by the fuzz run's neighbours: NUL characters, oversized and mislabelled files, too
    many files, a body that is not what it says — each a 4xx in both languages, nothing written."""
    from fastapi.testclient import TestClient

    from tests.test_online_api import PDF, form

    with TestClient(create_app(make_settings(online_applications_per_ip=1000))) as client:
        before = conn.execute("SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_uploads)").fetchone()
        url = "/api/v1/public/applications"
        cases = [
            ({**form(applicant_name="张\x00三")}, None, 422, "NUL"),
            (
                form(geojson='{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[1e308, 0]]]}}'),
                None,
                422,
                "/",
            ),
            (
                form(material_codes=["id_card"] * 13),
                [("materials", (f"{i}.pdf", PDF, "application/pdf")) for i in range(13)],
                422,
                "至多",
            ),
            (
                form(material_codes=["id_card", "id_card"]),
                [("materials", ("a.pdf", PDF, "application/pdf"))],
                422,
                "一一对应",
            ),
            (
                form(material_codes=["id_card"]),
                [("materials", ("a.pdf", PDF + b"0" * (8 * 2**20), "application/pdf"))],
                413,
                "MiB",
            ),
            (
                form(material_codes=["id_card"]),
                [("materials", ("a.exe", b"MZ\x90\x00", "application/pdf"))],
                422,
                "只接受",
            ),
        ]
        for data, files, status, words in cases:
            r = client.post(url, data=data, files=files)
            assert r.status_code == status, (data.get("applicant_name"), r.status_code, r.text[:300])
            assert words in r.json()["detail"] and " / " in r.json()["detail"], r.text[:300]
        r = client.post(
            "/api/v1/public/announcements/1/responses",
            json={"kind": "objection", "name": "x\x00", "phone": "13900139000", "content": "y"},
        )
        assert r.status_code in (404, 422)
        assert client.get("/api/v1/public/register", params={"township": "\x00"}).status_code < 500
        assert client.get("/api/v1/public/register", params={"offset": 2**63}).status_code == 422
        after = conn.execute("SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_uploads)").fetchone()
        assert after == before

"""The HTTP API through the real app (starlette's TestClient / httpx2 over ASGI): answers equal the
library's, bad input gets the library's message with its field, and the limits hold."""

from __future__ import annotations

import asyncio
import io
import os
import time

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from pcids.cli import app as cli_app  # noqa: E402
from pcids.composition import Composition  # noqa: E402
from pcids.design import design  # noqa: E402
from pcids.errors import PcidsError  # noqa: E402
from pcids.models.ensemble import load_elastic_model  # noqa: E402
from pcids.models.gfa import load_gfa_model  # noqa: E402
from pcids.serve.app import create_app  # noqa: E402
from pcids.serve.jobs import design_options  # noqa: E402
from pcids.serve.limits import Limits, lattice_box_size  # noqa: E402
from pcids.serve.schemas import DesignRequest  # noqa: E402

CASE = {"elements": ["Ti", "Zr", "Be", "Fe"], "targets": {"G": 36, "K": 105}, "top_k": 3}
FAST = {"elements": ["Cu", "Zr"], "targets": {"G": 31}, "top_k": 2}  # the limits' tests need a search, not this one


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture(scope="module")
def case_answer(client):
    r = client.post("/api/design", json=CASE)
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- happy paths


def test_design_matches_the_library(case_answer):
    lib = design(CASE["elements"], CASE["targets"], top_k=3)
    got = pd.DataFrame(case_answer["candidates"])
    assert list(got["composition"]) == list(lib.candidates["composition"])
    np.testing.assert_allclose(got["error"], lib.candidates["error"], rtol=1e-6)
    assert case_answer["message"] == lib.message and case_answer["success"] == lib.success
    assert case_answer["settings"]["max_widen_candidates"] == Limits().max_candidates
    # the CSV is what `pcids design --csv` writes
    csv = pd.read_csv(io.StringIO(case_answer["csv"]))
    assert list(csv.columns) == list(lib.candidates.columns)
    assert list(csv["composition"]) == list(lib.candidates["composition"])
    # the band: compositions the search evaluated, summing to 100
    band = pd.DataFrame(case_answer["explored"])
    assert len(band) >= 3
    np.testing.assert_allclose(band[CASE["elements"]].sum(axis=1), 100.0, atol=1e-6)


def test_design_report_is_what_the_cli_prints(case_answer):
    out = CliRunner().invoke(cli_app, ["design", "Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "105", "-k", "3", "-q"], env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    lines = [" ".join(line.split()) for line in out.output.splitlines() if line.strip()]
    table = case_answer["table"]
    assert table["title"] in lines
    assert " ".join(table["columns"]) in lines  # the header, word for word
    for row in table["rows"]:
        assert " ".join(" ".join(row).split()) in lines
    assert [r[1].rstrip("*") for r in table["rows"]] == [c["composition"] for c in case_answer["candidates"]]
    texts = [b["text"] for b in case_answer["report"] if "text" in b]
    assert texts[0] == case_answer["message"]
    assert all(" ".join(t.split()) in " ".join(" ".join(lines).split()) for t in texts)


def test_design_options_pass_through(client):
    body = {**CASE, "bounds": {"Fe": [0, 10]}, "fixed": {"Be": 25}, "gfa_threshold_mm": None, "prefer": "error", "top_k": 2}
    r = client.post("/api/design", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    lib = design(CASE["elements"], CASE["targets"], bounds={"Fe": (0, 10)}, fixed={"Be": 25}, gfa_threshold_mm=None, prefer="error", top_k=2)
    assert [c["composition"] for c in got["candidates"]] == list(lib.candidates["composition"])
    assert all(c["Fe"] <= 10 and c["Be"] == 25 for c in got["candidates"])
    assert got["settings"]["gfa_threshold_mm"] is None and "P(GFA)" in got["table"]["columns"]


def test_predict_and_gfa_answer_what_the_cli_prints(client):
    import json

    formulas = ["Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Cu50Zr50"]
    for verb in ("predict", "gfa"):
        rows = client.post(f"/api/{verb}", json={"formulas": formulas}).json()["rows"]
        out = CliRunner().invoke(cli_app, [verb, *formulas, "--json"])
        assert out.exit_code == 0, out.output
        cli = json.loads(out.stdout)
        for row, ref in zip(rows, cli):
            assert row["ok"]
            for k, v in ref.items():  # input as typed, formula canonical, and every value
                assert row[k] == (v if isinstance(v, (bool, str)) or v is None else pytest.approx(v, rel=1e-6)), (verb, k)
    m = load_gfa_model()
    g = client.post("/api/gfa", json={"formulas": formulas}).json()["rows"]
    np.testing.assert_allclose([r["p_bulk_glass"] for r in g], m.predict_proba(formulas), rtol=1e-6)
    p = client.post("/api/predict", json={"formulas": formulas}).json()["rows"]
    np.testing.assert_allclose([r["G"] for r in p], load_elastic_model().predict(formulas)["G"], rtol=1e-6)


def test_predict_keeps_good_rows_when_some_are_bad(client):
    formulas = ["Cu50Zr50", "Xx20Cu80", "Cu50Zr(", "Pu50Cu50", "Cu40Zr40", "Pd40Ni40P20"]
    for url in ("/api/predict", "/api/gfa"):
        r = client.post(url, json={"formulas": formulas})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [row["ok"] for row in body["rows"]] == [True, False, False, False, True, True]
        assert (body["n_ok"], body["n_failed"]) == (3, 3)
        for row in body["rows"][1:3]:  # the parser's own message, with its caret
            with pytest.raises(PcidsError) as exc:
                Composition.from_formula(row["input"])
            assert row["error"] == str(exc.value)
        assert "no property data for element(s) Pu" in body["rows"][3]["error"]
        assert "amounts sum to 80" in body["rows"][4]["warnings"][0]
    # the good rows are the same numbers as predicting them alone
    p = client.post("/api/predict", json={"formulas": formulas}).json()["rows"]
    alone = load_elastic_model().predict(["Cu50Zr50", "Pd40Ni40P20"])
    assert p[0]["G"] == pytest.approx(float(alone["G"].iloc[0]), rel=1e-6)
    assert p[5]["K"] == pytest.approx(float(alone["K"].iloc[1]), rel=1e-6)


def test_only_bad_formulas_is_422_with_the_rows(client):
    r = client.post("/api/predict", json={"formulas": ["Xx20Cu80"]})
    assert r.status_code == 422
    body = r.json()
    assert body["detail"].startswith("unknown element 'Xx' in 'Xx20Cu80'") and body["field"] == "formulas"
    assert body["rows"][0]["ok"] is False


def test_info_health_openapi_and_offline_docs(client):
    info = client.get("/api/info").json()
    assert {"Ti", "Zr", "Be", "Fe"} <= set(info["trained"]) <= set(info["elements"])
    assert info["limits"]["max_elements"] == 12 and "G" in info["targets"]
    from pcids.models.properties import PROPERTIES

    assert list(info["properties"]) == list(PROPERTIES)  # what /api/predict answers, with units for the page
    assert info["properties"]["G"]["unit"] == "GPa" and info["properties"]["nu"]["unit"] == ""
    assert client.get("/api/health").json()["status"] == "ok"
    schema = client.get("/openapi.json").json()
    assert {"/api/design", "/api/predict", "/api/gfa"} <= set(schema["paths"])
    props = schema["components"]["schemas"]["DesignRequest"]["properties"]
    assert {"elements", "targets", "bounds", "fixed", "top_k", "tolerance"} <= set(props)
    assert client.get("/redoc").status_code == 404  # ReDoc would fetch its logo from a CDN
    for page in ("/docs", "/"):
        html = client.get(page).text
        assert "https://" not in html and "http://" not in html.replace("http://www.w3.org", ""), page
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    for asset in ("app.js", "style.css"):
        r = client.get(f"/static/{asset}")
        assert r.status_code == 200 and "https://" not in r.text


OBJ = {"elements": ["Cu", "Zr", "Al"], "targets": {"Tg": 700}, "at_least": {"Dmax": 3}, "minimize": ["cost"], "top_k": 3}


def test_design_objectives_match_the_library(client):
    r = client.post("/api/design", json=OBJ)
    assert r.status_code == 200, r.text
    got = r.json()
    lib = design(OBJ["elements"], OBJ["targets"], at_least=OBJ["at_least"], minimize=OBJ["minimize"], top_k=3)
    assert [c["composition"] for c in got["candidates"]] == list(lib.candidates["composition"])
    np.testing.assert_allclose([c["Tg"] for c in got["candidates"]], lib.candidates["Tg"], rtol=1e-6)
    np.testing.assert_allclose([c["cost"] for c in got["candidates"]], lib.candidates["cost"], rtol=1e-6)
    assert got["settings"]["pareto_objectives"] == [list(x) for x in lib.settings["pareto_objectives"]] and len(got["settings"]["pareto_objectives"]) == 2
    assert {"Tg", "cost", "pareto"} <= set(got["table"]["columns"])
    # the Pareto figure's data: every objective and the front flag for the explored pool
    axes = [c for c, _ in got["settings"]["pareto_objectives"]]
    assert got["explored"] and all({*axes, "pareto", "status"} <= set(row) for row in got["explored"])
    assert any(row["pareto"] for row in got["explored"])


def test_info_lists_every_design_quantity(client):
    from pcids.design.quantities import BUILTIN, shipped_names

    q = client.get("/api/info").json()["quantities"]
    assert set(q) == {*BUILTIN, *shipped_names()}
    assert q["Dmax"]["unit"] == "mm" and q["cost"]["unit"] == "USD/kg" and q["Tg"]["unit"] == "K"
    props = client.get("/openapi.json").json()["components"]["schemas"]["DesignRequest"]["properties"]
    assert {"at_least", "at_most", "maximize", "minimize", "confidence"} <= set(props)


# ---------------------------------------------------------------- bad input: the library's message, 422, its field


def _library_message(body: dict) -> str:
    kwargs = DesignRequest(**body).model_dump(exclude_unset=True)  # the values as the server reads them
    with pytest.raises(PcidsError) as exc:
        design(kwargs.pop("elements"), kwargs.pop("targets"), **kwargs)
    return str(exc.value)


BAD = [
    ("unknown element", {"elements": ["Ti", "Zr", "Be", "Xx"]}, "elements"),
    ("no data for element", {"elements": ["Ti", "Zr", "Pu"]}, "elements"),
    ("repeated element", {"elements": ["Ti", "Zr", "Ti"]}, "elements"),
    ("one element", {"elements": ["Ti"]}, "elements"),
    ("no target", {"targets": {}}, "targets"),
    ("unknown target", {"targets": {"G": 36, "Tq": 5}}, "targets"),
    ("negative modulus", {"targets": {"G": -3, "K": 105}}, "targets"),
    ("nu out of range", {"targets": {"nu": 0.7}}, "targets"),
    ("bounds min > max", {"bounds": {"Fe": [20, 10]}}, "bounds"),
    ("bounds of a stranger", {"bounds": {"Cu": [0, 10]}}, "bounds"),
    ("infeasible bounds", {"bounds": {"Ti": [40, None], "Zr": [40, None], "Be": [30, None]}}, "bounds"),
    ("bounded and fixed", {"bounds": {"Be": [0, 30]}, "fixed": {"Be": 25}}, "bounds"),
    ("target not a number", {"targets": {"G": "abc", "K": 105}}, "targets"),
    ("unknown ranking", {"prefer": "nearest"}, "prefer"),
    ("unknown aggregate", {"aggregate": "mean"}, "aggregate"),
    ("negative tolerance", {"tolerance": -0.1}, "tolerance"),
    ("step not dividing 100", {"h": 3, "E": 6}, "h"),
    ("box smaller than step", {"E": 0.5}, "E"),
    ("top_k zero", {"top_k": 0}, "top_k"),
    ("GFA threshold", {"gfa_threshold_mm": -2}, "gfa_threshold_mm"),
    ("unknown target quantity", {"targets": {"Tq": 700}}, "targets"),
    ("temperature not a number", {"targets": {"Tg": "warm"}}, "targets"),
    ("unknown constraint", {"at_least": {"Dmaxx": 5}}, "at_least"),
    ("unknown constraint, at most", {"at_most": {"price": 20}}, "at_most"),
    ("unknown objective", {"minimize": ["price"]}, "minimize"),
    ("negative Dmax bound", {"at_least": {"Dmax": -5}}, "at_least"),
    ("contradictory constraints", {"at_least": {"cost": 30}, "at_most": {"cost": 20}}, "at_least"),
    ("maximised and minimised", {"maximize": ["cost"], "minimize": ["cost"]}, "maximize"),
    ("confidence out of range", {"confidence": 1.5}, "confidence"),
]


@pytest.mark.parametrize("what, change, field", BAD, ids=[b[0] for b in BAD])
def test_bad_design_input_gets_the_library_message(client, what, change, field):
    body = {**CASE, **change}
    r = client.post("/api/design", json=body)
    assert r.status_code == 422, r.text
    got = r.json()
    assert got["detail"] == _library_message(body)
    assert got["field"] == field


def test_the_message_is_the_clis(client):
    r = client.post("/api/design", json={**CASE, "elements": ["Ti", "Zr", "Be", "Xx"]})
    out = CliRunner().invoke(cli_app, ["design", "Ti", "Zr", "Be", "Xx", "--G", "36", "--K", "105", "-q"])
    assert out.exit_code == 1
    assert f"Error: {r.json()['detail']}" in out.output


@pytest.mark.parametrize(
    "body, field, words",
    [
        ({**CASE, "elements": "TiZrBeFe"}, "elements", "valid list"),
        ({**CASE, "top_k": 2.5}, "top_k", "valid integer"),
        ({**CASE, "tolerance": "tight"}, "tolerance", "valid number"),
        ({**CASE, "bogus": 1}, "bogus", "Extra inputs"),
        ({"targets": {"G": 36}}, "elements", "Field required"),
    ],
)
def test_malformed_requests_are_422_naming_the_field(client, body, field, words):
    r = client.post("/api/design", json=body)
    assert r.status_code == 422
    got = r.json()
    assert got["field"] == field and words in got["detail"], got


def test_invalid_json_is_422(client):
    r = client.post("/api/design", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "RequestValidationError"


# ---------------------------------------------------------------- limits


def test_body_size_cap(client):
    big = {"formulas": ["Cu50Zr50"] * 10_000}  # ~120 kB > 64 KiB
    r = client.post("/api/predict", json=big)
    assert r.status_code == 413 and "at most 65,536 bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: the cap still holds on the stream
        yield b'{"formulas": ["'
        for _ in range(70):
            yield b"A" * 1024
        yield b'"]}'

    r = client.post("/api/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_element_formula_top_k_and_box_caps(client):
    many = ["Ti", "Zr", "Be", "Fe", "Cu", "Ni", "Al", "Co", "Cr", "Mo", "Nb", "Ta", "Hf"]
    r = client.post("/api/design", json={**CASE, "elements": many})
    assert r.status_code == 422 and r.json() == {"detail": "at most 12 elements per design on this server, got 13", "field": "elements", "error": "LimitError"}
    r = client.post("/api/design", json={**CASE, "top_k": 101})
    assert r.status_code == 422 and r.json()["field"] == "top_k" and "at most 100" in r.json()["detail"]
    r = client.post("/api/design", json={**CASE, "max_iterations": 50})
    assert r.status_code == 422 and r.json()["field"] == "max_iterations"
    paper = {"strategy": "paper"} if "strategy" in design_options() else {}  # a pcids with strategies: the paper's box
    r = client.post("/api/design", json={**CASE, "elements": many[:7], "E": 8, **paper})
    assert r.status_code == 422 and r.json()["field"] == "E"
    assert f"{lattice_box_size(7, 8, 1):,} compositions" in r.json()["detail"]
    if paper:  # the whole lattice, counted as the corrector counts it
        from pcids.corrector import lattice_size

        r = client.post("/api/design", json={**CASE, "elements": many[:5], "h": 0.5, "strategy": "exhaustive"})
        assert r.status_code == 422 and r.json()["field"] == "strategy"
        assert f"{lattice_size(dict.fromkeys(many[:5], 20.0), E=100, h=0.5):,} compositions" in r.json()["detail"]
        r = client.post("/api/design", json={**CASE, "n_random": 10_000})
        assert r.status_code == 422 and r.json()["field"] == "n_random"
    r = client.post("/api/predict", json={"formulas": ["Cu50Zr50"] * 1001})
    assert r.status_code == 422 and "at most 1000 formulas" in r.json()["detail"]
    r = client.post("/api/gfa", json={"formulas": []})
    assert r.status_code == 422 and r.json()["field"] == "formulas"


def test_an_option_this_pcids_lacks_is_refused(client, monkeypatch):
    from pcids.serve import jobs

    older = {k: v for k, v in design_options().items() if k != "tie_resolution"}
    monkeypatch.setattr(jobs, "design_options", lambda: older)
    r = client.post("/api/design", json={**CASE, "tie_resolution": 0.01})
    assert r.status_code == 422
    assert r.json() == {"detail": "this version of pcids has no design option tie_resolution", "field": "tie_resolution", "error": "LimitError"}


def test_lattice_box_size_counts_the_box():
    from pcids.corrector import lattice_size

    # a centre far from 0 and 100: the box is unclipped, so the bound is exact
    assert lattice_box_size(4, 5, 1) == lattice_size({"Ti": 25, "Zr": 25, "Be": 25, "Fe": 25}, E=5, h=1)
    assert lattice_box_size(3, 2, 0.5) == lattice_size({"Ti": 30, "Zr": 30, "Be": 40}, E=2, h=0.5)
    # near an edge the box holds fewer
    assert lattice_size({"Ti": 2, "Zr": 49, "Be": 49}, E=5, h=1) < lattice_box_size(3, 5, 1)


def test_time_limit_answers_503_and_frees_the_slot():
    with TestClient(create_app(Limits(time_limit_s=0.001))) as c:
        r = c.post("/api/design", json=FAST)
        assert r.status_code == 503
        assert "did not finish within the server's 0.001 s time limit" in r.json()["detail"]
        for _ in range(200):  # the search runs on in its thread, holding its slot, then lets go
            if c.get("/api/health").json()["searches"]["running"] == 0:
                break
            time.sleep(0.05)
        assert c.get("/api/health").json()["searches"]["running"] == 0


async def _burst(app, n: int, health_after: float | None = None):
    import httpx2

    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test", timeout=60) as ac:
            done: dict[str, float] = {}

            async def one(i: int):
                r = await ac.post("/api/design", json=FAST)
                done[f"design{i}"] = time.perf_counter()
                return r

            async def health():
                await asyncio.sleep(health_after)
                r = await ac.get("/api/health")
                done["health"] = time.perf_counter()
                return r

            tasks = [one(i) for i in range(n)] + ([health()] if health_after is not None else [])
            results = await asyncio.gather(*tasks)
            return results, done


def test_excess_searches_are_refused_with_429_and_health_still_answers():
    app = create_app(Limits(max_concurrent=1, max_queue=0))
    results, done = asyncio.run(_burst(app, 4, health_after=0.02))
    designs, health = results[:4], results[4]
    codes = sorted(r.status_code for r in designs)
    assert set(codes) <= {200, 429} and codes.count(200) >= 1 and codes.count(429) >= 2, codes
    refused = next(r for r in designs if r.status_code == 429)
    assert refused.json()["error"] == "Busy" and "retry" in refused.json()["detail"]
    assert refused.headers["retry-after"] == "5"
    ok = next(r for r in designs if r.status_code == 200)
    assert ok.json()["candidates"][0]["composition"] == design(FAST["elements"], FAST["targets"], top_k=2).best["composition"]
    assert health.status_code == 200 and health.json()["searches"]["running"] == 1
    assert done["health"] < max(v for k, v in done.items() if k.startswith("design"))


def test_queued_searches_wait_their_turn():
    app = create_app(Limits(max_concurrent=1, max_queue=2))
    results, _ = asyncio.run(_burst(app, 3))
    assert [r.status_code for r in results] == [200, 200, 200]
    assert len({r.json()["candidates"][0]["composition"] for r in results}) == 1


def test_requests_write_no_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with TestClient(create_app()) as c:
        assert c.post("/api/design", json=FAST).status_code == 200
        assert c.post("/api/predict", json={"formulas": ["Cu50Zr50"]}).status_code == 200
        assert c.post("/api/gfa", json={"formulas": ["Cu50Zr50"]}).status_code == 200
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- the CLI verb


def test_serve_verb_refuses_a_taken_port_and_bad_options():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = CliRunner().invoke(cli_app, ["serve", "--port", str(port)])
    assert out.exit_code == 1 and f"Error: cannot serve on 127.0.0.1:{port}" in out.output
    out = CliRunner().invoke(cli_app, ["serve", "--port", "70000"])
    assert out.exit_code == 1 and "--port must be between 1 and 65535" in out.output
    out = CliRunner().invoke(cli_app, ["serve", "--max-concurrent", "0"])
    assert out.exit_code == 1 and "--max-concurrent must be >= 1" in out.output
    assert "serve" in CliRunner().invoke(cli_app, ["--help"]).output

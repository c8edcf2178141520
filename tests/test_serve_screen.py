"""``POST /api/screen`` through the real app: the library's answer and the CLI's table, the library's
messages with their fields, the server's caps, the time limit, and nothing beyond 127.0.0.1."""

from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("distributed")
from fastapi.testclient import TestClient  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from pcids.cli import app as cli_app  # noqa: E402
from pcids.errors import PcidsError  # noqa: E402
from pcids.screen import screen  # noqa: E402
from pcids.serve.app import create_app  # noqa: E402
from pcids.serve.limits import Limits  # noqa: E402
from pcids.serve.schemas import ScreenRequest  # noqa: E402
from pcids.serve import screening  # noqa: E402
from pcids.serve.screening import InProcessDask, screen_field  # noqa: E402

PALETTE = ["Ti", "Zr", "Be", "Fe", "Cu", "Ni"]
BODY = {"palette": PALETTE, "sizes": "3", "targets": {"G": 36, "K": 105}, "top": 1, "show": 5}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture(scope="module")
def answer(client):
    r = client.post("/api/screen", json=BODY)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def library():
    dask = InProcessDask(1)
    try:
        yield screen(PALETTE, "3", {"G": 36, "K": 105}, top=1, client=dask.client())
    finally:
        dask.close()


def test_screen_answers_what_the_library_does(answer, library):
    assert answer["n_systems"] == len(library.systems) == 20
    got = answer["systems"]
    assert len(got) == 5  # show
    assert [s["system"] for s in got] == list(library.systems["system"].head(5))
    assert [s["best"] for s in got] == list(library.systems["best"].head(5))
    np.testing.assert_allclose([s["score"] for s in got], library.systems["score"].head(5), rtol=1e-6)
    assert got[0]["refined"] is True and got[0]["refined_candidates"] and not got[1]["refined"]
    assert len(got[0]["candidates"]) == 3  # keep
    # the CSV holds every system, as `pcids screen --out` writes systems.csv
    csv = pd.read_csv(io.StringIO(answer["csv"]))
    assert list(csv.columns) == list(library.systems.columns) and len(csv) == 20
    assert list(csv["system"]) == list(library.systems["system"])
    assert answer["stats"]["n_systems"] == 20 and answer["stats"]["refined_run"] == 1
    assert answer["settings"]["palette"] == PALETTE and answer["settings"]["top"] == 1


def test_screen_takes_designs_objectives(client):
    """at_least, at_most, minimize as in /api/design: the constraints' columns, and each status group's
    Pareto set of P(targets) and cost leading the systems."""
    r = client.post("/api/screen", json={**BODY, "top": 0, "show": 20, "at_most": {"Tl": 1400}, "minimize": ["cost"]})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["settings"]["spec"]["minimize"] == ["cost"] and got["settings"]["spec"]["at_most"] == {"Tl": 1400.0}
    systems = pd.read_csv(io.StringIO(got["csv"]))
    assert {"cost", "pareto", "p_at_most_Tl", "p_constraints"} <= set(systems.columns)
    assert systems["pareto"].any()
    for _, g in systems.groupby("status", sort=False):
        front = g["pareto"].to_numpy()
        assert front[: front.sum()].all()  # the front leads its status group
    assert "Pareto" in got["table"]["columns"] and "cost" in got["table"]["columns"]


def test_screen_table_is_what_the_cli_prints(answer):
    out = CliRunner().invoke(
        cli_app, ["screen", "--palette", ",".join(PALETTE), "--sizes", "3", "--G", "36", "--K", "105", "--top", "1", "--show", "5", "-q", "--workers", "1"],
        env={"COLUMNS": "250"},
    )
    assert out.exit_code == 0, out.output
    lines = [" ".join(line.split()) for line in out.output.splitlines() if line.strip()]
    table = answer["table"]
    assert table["title"] in lines
    assert " ".join(table["columns"]) in lines
    assert len(table["rows"]) == 5
    for row in table["rows"]:
        assert " ".join(" ".join(row).split()) in lines
    assert [r[1] for r in table["rows"]] == [s["system"] for s in answer["systems"]]


# ---------------------------------------------------------------- bad input: the library's message, 422, its field

BAD = [
    ("unknown element", {"palette": ["Ti", "Zr", "Xx"]}, "palette"),
    ("no data for element", {"palette": ["Ti", "Zr", "Pu", "Be"]}, "palette"),
    ("repeated element", {"palette": ["Ti", "Zr", "Ti"]}, "palette"),
    ("unknown named palette", {"palette": "metals"}, "palette"),
    ("size too large for the palette", {"palette": ["Ti", "Zr", "Be"], "sizes": "3-5"}, "sizes"),
    ("size outside 2-12", {"sizes": "1-3"}, "sizes"),
    ("sizes unreadable", {"sizes": "three"}, "sizes"),
    ("no target", {"targets": {}}, "targets"),
    ("unknown target", {"targets": {"Tq": 5}}, "targets"),
    ("negative modulus", {"targets": {"G": -3}}, "targets"),
    ("step not dividing 100", {"step": 3}, "step"),
    ("bounds of a stranger", {"bounds": {"Al": [0, 5]}}, "bounds"),
    ("bounds min > max", {"bounds": {"Fe": [20, 10]}}, "bounds"),
    ("negative tolerance", {"tolerance": -0.1}, "tolerance"),
    ("GFA threshold", {"gfa_threshold_mm": -2}, "gfa_threshold_mm"),
    ("keep zero", {"keep": 0}, "keep"),
    ("top negative", {"top": -1}, "top"),
    ("system outside the palette", {"only": ["Ti-Zr-Al"]}, "only"),
    ("unknown constraint", {"at_most": {"Hv": 500}}, "at_most"),
    ("unknown objective", {"minimize": ["Hv"]}, "minimize"),
    ("both directions", {"maximize": ["cost"], "minimize": ["cost"]}, "maximize"),
    ("confidence above 1", {"at_least": {"Dmax": 3}, "confidence": 1.5}, "confidence"),
]


@pytest.mark.parametrize("what, change, field", BAD, ids=[b[0] for b in BAD])
def test_bad_screen_input_gets_the_library_message(client, what, change, field):
    body = {**BODY, **change}
    r = client.post("/api/screen", json=body)
    assert r.status_code == 422, r.text
    got = r.json()
    kwargs = ScreenRequest(**body).model_dump(exclude_unset=True)  # the values as the server reads them
    kwargs.pop("show")
    with pytest.raises(PcidsError) as exc:
        screen(**kwargs)  # fails in its checks, before any cluster starts
    assert got["detail"] == str(exc.value)
    assert got["field"] == field


def test_the_message_is_the_clis(client):
    r = client.post("/api/screen", json={**BODY, "palette": ["Ti", "Zr", "Xx"]})
    out = CliRunner().invoke(cli_app, ["screen", "--palette", "Ti,Zr,Xx", "--sizes", "3", "--G", "36", "-q"])
    assert out.exit_code == 1
    assert f"Error: {r.json()['detail']}" in out.output


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"workers": 4}, "workers", "Extra inputs"),  # the server decides where a screen runs
        ({"out": "/tmp/x"}, "out", "Extra inputs"),  # and writes no files
        ({"scheduler": "tcp://10.0.0.1:8786"}, "scheduler", "Extra inputs"),
        ({"top": 1.5}, "top", "valid integer"),
        ({"palette": 7}, "palette", "valid string"),
    ],
)
def test_server_side_and_malformed_options_are_refused(client, change, field, words):
    r = client.post("/api/screen", json={**BODY, **change})
    assert r.status_code == 422
    assert r.json()["field"] == field and words in r.json()["detail"], r.json()


def test_screen_field_names_the_field():
    assert screen_field("refine_k must be an integer >= 1, got 0") == "refine_k"
    assert screen_field("top must be an integer >= 0, got -1") == "top"
    assert screen_field("the screen produced no results") is None


# ---------------------------------------------------------------- caps


def test_palette_systems_compositions_top_and_show_caps(client):
    thirteen = "glass-formers:13"
    r = client.post("/api/screen", json={**BODY, "palette": thirteen})
    assert r.status_code == 422 and r.json() == {"detail": "at most 12 palette elements per screen on this server, got 13", "field": "palette", "error": "LimitError"}
    r = client.post("/api/screen", json={**BODY, "palette": "glass-formers:12", "sizes": "3-6"})  # 220 + 495 + 792 + 924 systems
    assert r.status_code == 422 and r.json()["field"] == "palette"
    assert "holds 2,431 systems; this server screens at most 2,000 per request" in r.json()["detail"]
    r = client.post("/api/screen", json={**BODY, "palette": "glass-formers:12", "sizes": "3-4", "step": 2})  # C(49,2), C(49,3) per system
    assert r.status_code == 422 and r.json()["field"] == "step"
    assert f"hold {220 * 1176 + 495 * 18424:,} compositions; this server scores at most 4,000,000 per screen" in r.json()["detail"]
    r = client.post("/api/screen", json={**BODY, "top": 11})
    assert r.status_code == 422 and r.json()["field"] == "top" and "at most 10" in r.json()["detail"]
    r = client.post("/api/screen", json={**BODY, "show": 0})
    assert r.status_code == 422 and r.json()["field"] == "show"
    assert client.get("/api/health").json()["searches"]["running"] == 0  # none of these took a slot


def test_time_limit_stops_the_screen_and_frees_the_slot(monkeypatch):
    import functools

    import pcids.screen as lib

    seen: list[BaseException | None] = []

    @functools.wraps(lib.screen)  # the server reads screen()'s options from its signature
    def watched(*args, **kwargs):
        if isinstance(kwargs.get("client"), screening._Probe):
            return lib_screen(*args, **kwargs)
        try:
            out = lib_screen(*args, **kwargs)
        except BaseException as exc:
            seen.append(exc)
            raise
        seen.append(None)
        return out

    lib_screen = lib.screen
    monkeypatch.setattr(lib, "screen", watched)
    with TestClient(create_app(Limits(time_limit_s=0.05))) as c:
        r = c.post("/api/screen", json={**BODY, "top": 0})
        assert r.status_code == 503 and r.json()["error"] == "TimedOut", r.text
        assert "time limit; ask for a smaller palette" in r.json()["detail"]
        for _ in range(600):  # the screen stops after its batch in flight, then lets go of the slot
            if c.get("/api/health").json()["searches"]["running"] == 0:
                break
            import time

            time.sleep(0.05)
        assert c.get("/api/health").json()["searches"]["running"] == 0
    assert len(seen) == 1 and type(seen[0]).__name__ == "Stopped", seen


def test_screens_write_no_files_and_listen_only_on_loopback(tmp_path, monkeypatch):
    import ipaddress

    import psutil

    monkeypatch.chdir(tmp_path)
    with TestClient(create_app()) as c:
        r = c.post("/api/screen", json={**BODY, "top": 0})
        assert r.status_code == 200
        listening = [s.laddr for s in psutil.Process().net_connections(kind="inet") if s.status == psutil.CONN_LISTEN]
        assert listening, "the in-process Dask cluster serves its HTTP routes somewhere"
        assert all(ipaddress.ip_address(a.ip).is_loopback for a in listening), listening
    assert os.listdir(tmp_path) == []


def test_info_and_schema_list_the_screen(client):
    info = client.get("/api/info").json()
    assert {"sizes", "targets", "step", "top", "keep", "bounds"} <= set(info["screen_options"])
    assert not {"out", "client", "workers", "scheduler"} & set(info["screen_options"])
    assert info["limits"]["max_palette"] == 12 and info["limits"]["max_systems"] == 2000
    schema = client.get("/openapi.json").json()
    assert "/api/screen" in schema["paths"]
    assert {"palette", "sizes", "targets", "top", "show"} <= set(schema["components"]["schemas"]["ScreenRequest"]["properties"])

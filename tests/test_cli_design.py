"""``pcids design`` through the real entry point, with small models standing in for the shipped ones."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import pcids.cli
from pcids.cli.design import parse_bounds, parse_fixed
from pcids.errors import DesignError
from test_design import tiny_models

runner = CliRunner()


@pytest.fixture()
def small_models(monkeypatch):
    import pcids.models.ensemble
    import pcids.models.gfa
    import pcids.models.inverse

    fwd, inv, gfa = tiny_models()
    monkeypatch.setattr(pcids.models.ensemble, "load_elastic_model", lambda: fwd)
    monkeypatch.setattr(pcids.models.inverse, "load_inverse_model", lambda: inv)
    monkeypatch.setattr(pcids.models.gfa, "load_gfa_model", lambda: gfa)
    return fwd, inv, gfa


def invoke(*args):
    return runner.invoke(pcids.cli.app, ["design", *args])


def test_parse_bounds_and_fixed():
    assert parse_bounds(["Fe=0:10", "Ti=30:", "Zr=:50"]) == {"Fe": (0, 10), "Ti": (30, None), "Zr": (None, 50)}
    assert parse_fixed(["Be=25", "Fe=2.5"]) == {"Be": 25.0, "Fe": 2.5}
    for bad in (["Fe0:10"], ["Fe=10"], ["Fe=a:b"], ["=0:1"]):
        with pytest.raises(DesignError, match="--bounds"):
            parse_bounds(bad)
    with pytest.raises(DesignError, match="--fixed"):
        parse_fixed(["Be"])


def test_json_output_matches_the_library(small_models):
    from pcids.design import design

    res = invoke("Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "105", "--top-k", "4", "--json", "--bounds", "Fe=0:10")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    fwd, inv, gfa = small_models
    lib = design(["Ti", "Zr", "Be", "Fe"], {"G": 36, "K": 105}, top_k=4, bounds={"Fe": (0, 10)}, forward=fwd, inverse=inv, gfa=gfa)
    assert [c["composition"] for c in out["candidates"]] == lib.candidates["composition"].tolist()
    assert all(c["Fe"] <= 10 for c in out["candidates"])
    assert out["targets"] == {"G": 36.0, "K": 105.0}
    assert out["trace"][0]["step"] == "predictor"


def test_table_csv_plot_and_no_overwrite(small_models, tmp_path):
    csv, png = tmp_path / "d.csv", tmp_path / "d.png"
    res = invoke("Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "105", "-k", "3", "--csv", str(csv), "--plot", str(png), "-q")
    assert res.exit_code == 0, res.output
    assert "predictor:" in res.stdout and "exhaustive lattice:" in res.stdout and "diverse top k:" in res.stdout
    assert len(pd.read_csv(csv)) == 3 and png.stat().st_size > 10_000
    again = invoke("Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "105", "--csv", str(csv))
    assert again.exit_code == 1 and "exists" in again.output and "--force" in again.output
    forced = invoke("Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "105", "-k", "2", "--csv", str(csv), "--force", "-q")
    assert forced.exit_code == 0 and len(pd.read_csv(csv)) == 2


@pytest.mark.parametrize(
    "args,message",
    [
        (["Ti", "Zr", "Xx", "--G", "36"], "unknown element 'Xx'"),
        (["Ti", "Ti", "--G", "36"], "more than once"),
        (["Ti", "--G", "36"], "2 to 12"),
        (["Ti", "Zr", "--G", "90", "--K", "40"], "imply nu"),
        (["Ti", "Zr", "--G", "36", "--K", "105", "--E", "200", "--nu", "0.1"], "contradict"),
        (["Ti", "Zr", "Be"], "no target"),
        (["Ti", "Zr", "--G", "36", "--step", "0"], "step h"),
        (["Ti", "Zr", "--G", "36", "--size", "0.5"], "at least the step"),
        (["Ti", "Zr", "Be", "--G", "36", "-b", "Ti=60:", "-b", "Zr=50:"], "infeasible bounds"),
        (["Ti", "Zr", "--G", "36", "-b", "Fe10"], "--bounds"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    res = invoke(*args)
    assert res.exit_code == 1
    assert message in res.output and "Traceback" not in res.output


def test_extrapolation_warning_on_stderr(small_models):
    res = invoke("Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "400", "-k", "2", "--max-iterations", "1", "-q")
    assert res.exit_code == 0
    assert "outside the range of the data" in res.stderr


def test_reproduce_quick_writes_the_report(tmp_path):
    from test_design import _shipped_available

    if not _shipped_available():
        pytest.skip("shipped models not built")
    out = tmp_path / "rep"
    res = runner.invoke(pcids.cli.app, ["reproduce", "--out", str(out), "--quick"])
    assert res.exit_code == 0, res.output
    report = (out / "report.md").read_text()
    assert "| G | 0.990 |" in report and "Ti41Zr25Be28Fe6" in report and "has **750** candidates" in report
    data = json.loads((out / "results.json").read_text())
    assert 0.5 < data["forward"]["G_test"]["r2"] <= 1 and data["case_study"]["paper_check_750"] == 750
    for f in (
        "forward_parity_G.png", "fig4_shap_importance.png", "fig5_shap_dependence_r.png", "fig10_inverse_cloud.png",
        "fig11_inverse_abs_error.png", "fig12_inverse_parity_by_n.png", "fig14_parallel_coordinates.png", "case_study_candidates.csv",
    ):
        assert (out / f).stat().st_size > 0
    # Table 5: the paper's two networks and ours, on the same split, beside the paper's numbers
    assert "| DKIDN | 0.907 |" in report and "| RIDN | 0.860 |" in report
    for name in ("DKIDN", "RIDN", "pcids"):
        assert 0.0 < data["inverse"][name]["r2_all7_mean"] <= 1.0
    assert set(data["forward"]["shap_ranking"]["G"]) == {"VEC", "Tm", "chi", "r"}
    # GFA on system-grouped folds: far better than chance even in the quick run
    assert 0.75 < data["gfa"]["roc_auc"] <= 1.0 and "GFA module" in report
    assert (out / "gfa_reliability_grouped.png").stat().st_size > 0
    again = runner.invoke(pcids.cli.app, ["reproduce", "--out", str(out), "--quick"])
    assert again.exit_code == 1 and "not empty" in again.output


def test_new_search_options_known_alloys_first_and_gfa_label(small_models, tmp_path):
    from pcids.datasets import load_elastic

    row = load_elastic().set_index("formula").loc["Zr50Be25Cu25"]
    res = invoke("Zr", "Be", "Cu", "--G", str(row["G"]), "--K", str(row["K"]), "-k", "3", "-q", "--min-distance", "5", "--exhaustive")
    assert res.exit_code == 0, res.output
    out = res.stdout
    # The known alloy and its measured values come before any new composition.
    assert "Known alloys that already meet the targets" in out
    assert out.index("Zr50Be25Cu25") < out.index("exhaustive lattice:") and out.index("Known alloys") < out.index("Zr-Be-Cu: G =")
    assert "at least 5 at.% apart" in out
    paper = invoke("Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "105", "-k", "3", "-q", "--strategy", "paper", "--json")
    assert paper.exit_code == 0, paper.output
    data = json.loads(paper.stdout)
    assert data["settings"]["strategy"] == "paper" and data["trace"][1]["step"] == "corrector 1"
    # --gfa-threshold 1000: a warning with the data's largest Dmax, and the probability column stays P(D>=2).
    far = invoke("Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "105", "-k", "2", "-q", "--gfa-threshold", "1000")
    assert far.exit_code == 0, far.output
    assert "72 mm" in far.stderr and "P(D>=1000" not in far.stdout  # the column is the 2 mm classifier's
    # --plot refuses an existing file without --force
    png = tmp_path / "f.png"
    png.write_bytes(b"x")
    again = invoke("Ti", "Zr", "--G", "36", "-k", "2", "-q", "--plot", str(png))
    assert again.exit_code == 1 and "exists" in again.output
    forced = invoke("Ti", "Zr", "--G", "36", "-k", "2", "-q", "--plot", str(png), "--force")
    assert forced.exit_code == 0 and png.stat().st_size > 10_000

"""``pcids predict`` through the real entry point, on the shipped models."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from pcids import load_elastic_model
from pcids.cli import app

runner = CliRunner()
VIT1 = "Zr41.2Ti13.8Cu12.5Ni10Be22.5"


def invoke(*args: str):
    return runner.invoke(app, ["predict", *args], env={"COLUMNS": "200"})


def test_table_shows_all_four_properties_with_sigma():
    result = invoke(VIT1)
    assert result.exit_code == 0, result.output
    expected = load_elastic_model().predict(VIT1).iloc[0]
    assert VIT1 in result.stdout  # as typed
    assert f"{expected.G:.1f} ± {expected.G_std:.1f}" in result.stdout
    assert f"{expected.K:.1f} ± {expected.K_std:.1f}" in result.stdout
    assert f"{expected.nu:.3f} ± {expected.nu_std:.3f}" in result.stdout


def test_json_for_several_formulas_matches_the_library():
    result = invoke(VIT1, "Cu50Zr50", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    lib = load_elastic_model().predict([VIT1, "Cu50Zr50"])
    assert [r["input"] for r in records] == [VIT1, "Cu50Zr50"] == list(lib.index)
    assert [r["formula"] for r in records] == list(lib["formula"]) == ["Zr41.2Be22.5Ti13.8Cu12.5Ni10", "Cu50Zr50"]
    for rec, (_, row) in zip(records, lib.iterrows()):
        for k in ("G", "G_std", "K", "K_std", "E", "E_std", "nu", "nu_std"):
            assert rec[k] == pytest.approx(row[k], rel=1e-4)  # float32 networks
        assert rec["in_domain"] is True


def test_csv_file_and_output(tmp_path):
    src = tmp_path / "alloys.csv"
    src.write_text("name,alloy\na,Cu50Zr50\nb,Cu64Zr36\n")
    out = tmp_path / "pred.csv"
    result = invoke("--file", str(src), "--column", "alloy", "--json", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 2
    assert out.read_text().splitlines()[0].startswith("input,formula,G,G_std,K,K_std,E")
    again = invoke("--file", str(src), "--column", "alloy", "--out", str(out))
    assert again.exit_code == 1 and "--force" in again.output


def test_out_of_domain_is_flagged_and_explained_on_stderr():
    result = invoke("W50Zr50", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["in_domain"] is False
    assert "W never seen in training" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["Zr4)1Cu59"], "position"),
        (["Cu50Xe50"], "Xe"),
        ([], "at least one formula"),
        (["--file", "/nonexistent/alloys.csv"], "not found"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    result = invoke(*args)
    assert result.exit_code == 1
    assert "Error:" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_missing_column_is_named(tmp_path):
    src = tmp_path / "a.csv"
    src.write_text("alloy\nCu50Zr50\n")
    result = invoke("--file", str(src))
    assert result.exit_code == 1 and "no column 'formula'" in result.output


def test_a_formula_that_does_not_sum_to_100_is_flagged():
    result = invoke("Zr41.2Ti13.8Cu12.5Ni1OBe22.5")  # letter O typed for a zero
    assert result.exit_code == 0
    assert "sum to 92" in result.stderr and "missing or mistyped" in result.stderr
    assert "sum to" not in invoke(VIT1).stderr


def test_explicit_zero_term_is_accepted_and_dropped():
    """``Cu46Ti0Zr54`` (composition-spread notation) is Cu46Zr54, through the CLI and the library."""
    result = invoke("Cu46Ti0Zr54", "Cu46Zr54", "--json")
    assert result.exit_code == 0, result.output
    a, b = json.loads(result.stdout)
    assert a["formula"] == b["formula"] == load_elastic_model().predict(["Cu46Zr54"])["formula"].iloc[0]
    assert a["input"] == "Cu46Ti0Zr54"  # kept as typed
    for k in ("G", "K", "E", "nu"):
        assert a[k] == pytest.approx(b[k], rel=1e-4)
    lib = load_elastic_model().predict(["Cu46Ti0Zr54"]).iloc[0]
    assert lib["G"] == pytest.approx(a["G"], rel=1e-4)
    table = invoke("Cu46Ti0Zr54")
    assert table.exit_code == 0 and "Ti" not in table.stdout.replace("Ti0", "")


def test_only_zero_or_negative_amounts_are_errors():
    for formula, message in (("Cu0Zr0", "every amount is zero"), ("Cu-5Zr105", "negative amount")):
        result = invoke(formula)
        assert result.exit_code == 1
        assert message in result.output and "Traceback" not in result.output


# -- every shipped property, and --properties (issue 13 item 2) --------------------------------


def test_default_reports_every_shipped_property_with_sigma():
    from pcids.models.properties import PROPERTIES, predict_properties

    result = invoke(VIT1, "--json")
    assert result.exit_code == 0, result.output
    (rec,) = json.loads(result.stdout)
    names = list(PROPERTIES)
    assert names == ["G", "K", "E", "nu", "Tg", "Tx", "Tl", "dTx", "Trg", "gamma"]
    assert list(rec) == ["input", "formula", *[k for n in names for k in (n, f"{n}_std")], "in_domain"]
    lib = predict_properties([VIT1]).iloc[0]
    for n in names:
        assert rec[n] == pytest.approx(lib[n], rel=1e-4) and rec[f"{n}_std"] > 0
    table = invoke(VIT1)
    header = next(ln for ln in table.stdout.splitlines() if ln.startswith("alloy"))
    for h in ("G (GPa)", "nu", "Tg (K)", "Tx (K)", "Tl (K)", "dTx (K)", "Trg", "gamma", "in domain"):
        assert h in header
    assert f"{lib.Tg:.0f} ± {lib.Tg_std:.0f}" in table.stdout


def test_properties_option_chooses_and_orders_the_columns(tmp_path):
    result = invoke(VIT1, "Cu50Zr50", "--properties", "Tg,K", "--json")
    assert result.exit_code == 0, result.output
    recs = json.loads(result.stdout)
    assert [list(r) for r in recs] == [["input", "formula", "Tg", "Tg_std", "K", "K_std", "in_domain"]] * 2  # as asked
    lib = load_elastic_model().predict([VIT1, "Cu50Zr50"])
    assert [r["K"] for r in recs] == pytest.approx(list(lib["K"]), rel=1e-4)
    out = tmp_path / "p.csv"
    assert invoke(VIT1, "-p", "dTx", "-o", str(out)).exit_code == 0
    assert out.read_text().splitlines()[0] == "input,formula,dTx,dTx_std,in_domain"
    table = invoke(VIT1, "-p", "Tg,K").stdout.splitlines()
    assert [h for h in re.split(r"\s{2,}", next(ln for ln in table if ln.startswith("alloy")))] == ["alloy", "Tg (K)", "K (GPa)", "in domain"]


def test_unknown_property_is_one_clear_error_listing_the_valid_names():
    result = invoke(VIT1, "--properties", "Tg,Dmax,HV")
    assert result.exit_code == 1
    assert result.output.count("Error:") == 1
    assert "unknown properties 'Dmax', 'HV'; valid names: G, K, E, nu, Tg, Tx, Tl, dTx, Trg, gamma" in result.output
    assert "Traceback" not in result.output

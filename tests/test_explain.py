"""SHAP explanations: additivity, ranking, zero crossing, CLI output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pcids import load_elastic_model
from pcids.cli import app
from pcids.errors import PcidsError
from pcids.explain import ShapResult, shap_values
from pcids.models.ensemble import SHIPPED_FEATURES

ALLOYS = ["Zr41Be22.5Ti14Cu12.5Ni10", "Cu50Zr50", "Mg65Cu25Y10", "Pd40Ni40P20", "Fe48Cr15Mo14C15B6Y2", "La55Al25Ni20"]


@pytest.fixture(scope="module")
def small():
    return shap_values(compositions=ALLOYS, background=20)


def test_shap_values_add_up_to_the_prediction(small):
    mean, _ = load_elastic_model().predict_descriptors(small["G"].descriptors.to_numpy())
    for j, t in enumerate(("G", "K")):
        res = small[t]
        np.testing.assert_allclose(res.values.sum(axis=1) + res.base_value, mean[:, j], atol=0.05)
        assert list(res.values.columns) == list(SHIPPED_FEATURES)  # the shipped inputs
        assert res.importance.is_monotonic_decreasing


def test_radius_dominates_and_lowers_moduli_as_in_the_paper(small):
    # the Mg- and La-based glasses (large r) get negative r SHAP, Fe-based (small r) positive
    for t in ("G", "K"):
        s = small[t].values["r"]
        assert s.iloc[4] > 0  # Fe48Cr15Mo14C15B6Y2
        assert s.iloc[2] < 0 and s.iloc[5] < 0  # Mg65Cu25Y10, La55Al25Ni20
        assert small[t].ranking[0] == "r"  # paper Fig. 4


def test_sign_change_on_synthetic_values():
    x = np.linspace(130, 160, 31)
    values = pd.DataFrame({"VEC": 0.0, "Tm": 0.0, "chi": 0.0, "r": -(x - 147.0)})
    desc = pd.DataFrame({"VEC": 0.0, "Tm": 0.0, "chi": 0.0, "r": x})
    res = ShapResult("G", values, desc, 0.0)
    assert res.sign_change("r", window=1) == pytest.approx(147.0, abs=1e-9)
    assert res.ranking[0] == "r"
    flat = ShapResult("G", values.assign(r=1.0), desc, 0.0)
    assert np.isnan(flat.sign_change("r"))


def test_bad_arguments():
    with pytest.raises(PcidsError, match="background"):
        shap_values(background=2)
    with pytest.raises(PcidsError, match="no compositions"):
        shap_values(compositions=[])


def test_cli_writes_pngs_and_json(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["explain", "--out-dir", str(tmp_path), "--background", "15", "--alloys", "60", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for t in ("G", "K"):
        assert sorted(data[t]["ranking"]) == sorted(SHIPPED_FEATURES)
        assert data[t]["ranking"][0] == "r"  # paper Fig. 4: r matters most for both
        assert 135 < data[t]["r_sign_change"] < 160
    for name in ("shap_importance.png", "shap_dependence_r.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    again = runner.invoke(app, ["explain", "--out-dir", str(tmp_path)])
    assert again.exit_code == 1 and "--force" in again.output
    bad = runner.invoke(app, ["explain", "--feature", "mass"])
    assert bad.exit_code == 1 and "--feature must be one of" in bad.output

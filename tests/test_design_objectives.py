"""Design objectives beyond a target value: the quantity registry, constraints met with a stated
probability, several objectives (the Pareto set first), the Pareto figure; one consistent Dmax."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

import pcids.cli
from pcids.cost import price_per_kg
from pcids.design import design
from pcids.design.pareto import non_dominated
from pcids.design.quantities import Prediction, QuantityRegistry, density_matrix
from pcids.elements import property_matrix
from pcids.errors import DesignError, ExtrapolationWarning
from test_cli_design import small_models  # noqa: F401  (fixture: tiny models stand in for the shipped ones)
from test_design import tiny_models

runner = CliRunner()
CZA = ["Cu", "Zr", "Al"]


def run(elements=CZA, targets=None, **kw):
    fwd, inv, gfa = tiny_models()
    return design(list(elements), {"G": 32} if targets is None else targets, forward=fwd, inverse=inv, gfa=gfa, top_k=5, **kw)


# ------------------------------------------------------------------ quantities


def test_prediction_probabilities_gaussian_exact_and_custom():
    p = Prediction(np.array([10.0, 20.0]), np.array([2.0, 0.0]))
    np.testing.assert_allclose(p.p_at_least(12.0), [norm.sf(12, 10, 2), 1.0], rtol=1e-9)
    np.testing.assert_allclose(p.p_at_most(12.0), [norm.cdf(12, 10, 2), 0.0], rtol=1e-9)
    np.testing.assert_allclose(p.p_within(9.0, 21.0), [norm.cdf(21, 10, 2) - norm.cdf(9, 10, 2), 1.0], rtol=1e-9)
    step = Prediction(np.array([5.0]), np.array([0.0]), exceed=lambda x: np.array([0.3 if x <= 5 else 0.1]))
    assert step.p_at_least(4.0)[0] == pytest.approx(0.3) and step.p_at_most(6.0)[0] == pytest.approx(0.9)


def test_density_is_mass_over_the_sum_of_molar_volumes():
    m, rho = property_matrix(["Cu", "Zr"], ("mass", "rho")).T
    expect = (50 * m[0] + 50 * m[1]) / (50 * m[0] / rho[0] + 50 * m[1] / rho[1])
    np.testing.assert_allclose(density_matrix(["Cu", "Zr"], [[50.0, 50.0], [100.0, 0.0]]), [expect, rho[0]], rtol=1e-12)
    # between the pure elements, below their atomic-fraction mean (Zr is the lighter per volume)
    assert rho[1] < expect < 0.5 * (rho[0] + rho[1])


def test_registry_dmax_is_the_gfa_mixture_and_cost_the_price_table():
    fwd, _, gfa = tiny_models()
    reg = QuantityRegistry(CZA, fwd, gfa)
    A = np.array([[46.0, 46.0, 8.0], [60.0, 20.0, 20.0], [20.0, 70.0, 10.0]])
    pr = reg.evaluate(A, ["Dmax", "p_gfa", "cost", "G"])
    p, med, d = gfa.predict_gfa_matrix(A / 100, CZA)
    np.testing.assert_allclose(pr["Dmax"].mean, med, rtol=1e-9)
    np.testing.assert_allclose(pr["Dmax"].p_at_least(5.0), gfa.dmax_exceedance(p, d, 5.0), rtol=1e-9)
    np.testing.assert_allclose(pr["Dmax"].p_at_least(1.0), p, rtol=1e-9)  # below 2 mm: P(Dmax >= 2 mm), a lower bound
    np.testing.assert_allclose(pr["p_gfa"].mean, p, rtol=1e-9)
    np.testing.assert_allclose(pr["cost"].mean, price_per_kg(["Cu46Zr46Al8", "Cu60Zr20Al20", "Cu20Zr70Al10"]), rtol=1e-9)
    G = fwd.predict(["Cu46Zr46Al8", "Cu60Zr20Al20", "Cu20Zr70Al10"])["G"].to_numpy()
    np.testing.assert_allclose(pr["G"].mean, G, rtol=1e-4)


def test_non_dominated_matches_brute_force_and_keeps_ties():
    rng = np.random.default_rng(0)
    F = np.round(rng.random((300, 3)), 2)
    F[7] = F[3]  # an exact duplicate
    brute = np.array([not any(np.all(F[j] <= F[i]) and np.any(F[j] < F[i]) for j in range(len(F))) for i in range(len(F))])
    np.testing.assert_array_equal(non_dominated(F), brute)
    assert non_dominated(np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [np.nan, 2.0], [np.nan, 0.5]])).tolist() == [True, True, True, False, False, True]


# ------------------------------------------------------------------ design: constraints


def test_at_least_dmax_is_met_with_the_stated_probability():
    res = run(at_least={"Dmax": 3.0}, confidence=0.6)
    gfa = tiny_models()[2]
    ex = res.explored
    p3 = gfa.dmax_exceedance(ex["p_gfa"].to_numpy(), ex["dmax_if_glass_mm"].to_numpy(), 3.0)
    np.testing.assert_allclose(ex["p_at_least_Dmax"], p3, rtol=1e-9)
    np.testing.assert_array_equal(ex["constraints_pass"], p3 >= 0.6)
    ok = ex["status"] == "meets target and GFA"
    assert ok.any() and (ex.loc[ok, "p_at_least_Dmax"] >= 0.6).all()
    failed = ex["status"] == "meets target, constraint failed"
    assert failed.any() and (ex.loc[failed, "p_at_least_Dmax"] < 0.6).all() and ex.loc[failed, "gfa_pass"].all()
    # the Dmax column is the mixture's median, so at confidence 0.5 "Dmax >= 3" reads off the table
    np.testing.assert_allclose(ex["dmax_mm"], gfa.dmax_from(ex["p_gfa"].to_numpy(), ex["dmax_if_glass_mm"].to_numpy()), rtol=1e-9)
    half = run(at_least={"Dmax": 3.0}).explored
    np.testing.assert_array_equal(half["constraints_pass"], half["dmax_mm"] >= 3.0 - 1e-9)
    assert "Dmax >= 3 with P >= 0.6" in res.message and "p_at_least_Dmax" in res.candidates


def test_joint_probability_of_constraints_is_their_product_and_enters_the_score():
    res = run(at_least={"Dmax": 2.5}, at_most={"cost": 40.0})
    ex = res.explored
    np.testing.assert_allclose(ex["p_constraints"], ex["p_at_least_Dmax"] * ex["p_at_most_cost"], rtol=1e-12)
    np.testing.assert_array_equal(ex["p_at_most_cost"], (ex["cost"] <= 40.0).astype(float))  # cost is exact
    plain = run()
    both = ex.merge(plain.explored[["composition", "score"]], on="composition", suffixes=("", "_plain"))
    np.testing.assert_allclose(both["score"], both["score_plain"] + np.log(np.maximum(both["p_constraints"], 1e-4)), rtol=1e-9, atol=1e-9)


def test_other_targets_density_and_a_user_model():
    class Hardness:
        name, unit = "HV", "HV"

        def predict_matrix(self, A, elements):
            w = np.array([3.0, 5.0, 2.0])[[CZA.index(e) for e in elements]]
            return np.asarray(A) @ w, np.full(len(A), 10.0)

    res = run(targets={"G": 32, "HV": 400.0, "density": 6.8}, models={"HV": Hardness()}, tolerance=0.03)
    c = res.candidates
    A = c[CZA].to_numpy()
    np.testing.assert_allclose(c["HV"], A @ [3.0, 5.0, 2.0], rtol=1e-12)
    np.testing.assert_allclose(c["density"], density_matrix(CZA, A), rtol=1e-12)
    np.testing.assert_allclose(c["error_HV"], (c["HV"] - 400) / 400, rtol=1e-9)
    np.testing.assert_allclose(c["error"], c[["error_G", "error_HV", "error_density"]].abs().max(axis=1), rtol=1e-12)
    assert (c.loc[c["status"] == "meets target and GFA", "error"] <= 0.03 + 1e-12).all() and res.success
    # P(targets) multiplies each target's chance; density is exact (0 or 1)
    fwd = tiny_models()[0]
    pred = fwd.predict(list(c["composition"]))
    pG = norm.cdf(32 * 1.03, pred["G"], pred["G_std"]) - norm.cdf(32 * 0.97, pred["G"], pred["G_std"])
    pH = norm.cdf(412, c["HV"], 10) - norm.cdf(388, c["HV"], 10)
    np.testing.assert_allclose(c["p_target"], pG * pH * (np.abs(c["error_density"]) <= 0.03), rtol=2e-3)
    with pytest.raises(DesignError, match="clashes with pcids' own G"):
        run(models={"G": Hardness()})


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"targets": {"G": 32, "Tq": 5}}, r"unknown target 'Tq'; known: G, K, E, nu, Dmax, p_gfa, density, cost"),
        ({"at_least": {"hardness": 5}}, r"unknown constraint 'hardness'"),
        ({"maximize": ["shine"]}, r"unknown objective 'shine'"),
        ({"maximize": "cost"}, r"a list of names"),
        ({"at_least": {"Dmax": 8}, "at_most": {"Dmax": 4}}, r"contradictory constraints on Dmax: at least 8 and at most 4 mm"),
        ({"at_most": {"cost": 0.5}}, r"at most cost = 0.5 USD/kg cannot be met: every composition of Cu-Zr-Al has cost between"),
        ({"targets": {"G": 32, "density": 30}}, r"target density = 30 g/cm3 cannot be met"),
        ({"maximize": ["cost"], "minimize": ["cost"]}, r"cost both maximised and minimised"),
        ({"targets": {"G": 32, "cost": 10}, "minimize": ["cost"]}, r"cost is both a target \(10\) and an objective"),
        ({"targets": {"G": 32, "cost": 30}, "at_most": {"cost": 20}}, r"target cost = 30 contradicts the constraint cost at most 20"),
        ({"at_most": {"Dmax": 1}}, r"below the GFA model's threshold \(2 mm\)"),
        ({"confidence": 1.0, "at_least": {"Dmax": 3}}, r"confidence must lie in \(0, 1\)"),
        ({"targets": {"density": 6.5}, "strategy": "paper"}, r"strategy='paper' designs for the moduli only"),
        ({"targets": {}}, r"no target given"),
    ],
)
def test_bad_objectives_get_one_specific_message(kw, match):
    kw = dict(kw)
    with pytest.raises(DesignError, match=match):
        run(**kw)


def test_a_bound_beyond_the_data_warns():
    with pytest.warns(ExtrapolationWarning, match=r"at least Dmax = 100 is outside the range of the data"):
        res = run(at_least={"Dmax": 100.0})
    assert not res.success and (res.explored["p_at_least_Dmax"] < 0.5).all()


# ------------------------------------------------------------------ several objectives


def test_pareto_set_leads_and_is_ranked_by_the_engine_within():
    res = run(minimize=["cost"], maximize=["p_gfa"])
    assert res.settings["pareto_objectives"] == [["p_target", "max"], ["p_gfa", "max"], ["cost", "min"]]
    ex = res.explored
    for status, grp in ex.groupby("status"):
        F = np.column_stack([-grp["p_target"], -grp["p_gfa"], grp["cost"]])
        np.testing.assert_array_equal(grp["pareto"].to_numpy(), non_dominated(F))
        # the Pareto rows come first in their status group, each part in the ranking's order
        flags = grp["pareto"].to_numpy()
        assert not np.any(np.diff(flags.astype(int)) > 0)
        for part in (grp[flags], grp[~flags]):
            assert (np.diff(part["pool_rank"].to_numpy()) > 0).all()
            assert (np.diff(part["score"].to_numpy()) <= 1e-12).all()
    c = res.candidates
    assert c["pareto"].iloc[0] and "on the Pareto front of max p_target, max p_gfa, min cost" in res.message
    # one objective: no Pareto column, the engine's ranking as before
    assert "pareto" not in run().candidates


def test_plot_pareto_writes_once_and_needs_two_objectives(tmp_path):
    res = run(minimize=["cost"])
    path = tmp_path / "pareto.png"
    res.plot_pareto(path)
    assert path.stat().st_size > 10_000
    with pytest.raises(Exception, match="exists; pass overwrite=True"):
        res.plot_pareto(path)
    res.plot_pareto(path, overwrite=True)
    with pytest.raises(DesignError, match="needs at least two objectives"):
        run().plot_pareto(tmp_path / "one.png")


# ------------------------------------------------------------------ the CLI


def test_cli_objectives_table_json_and_pareto_plot(small_models, tmp_path):
    fig = tmp_path / "front.png"
    args = ["design", "Cu", "Zr", "Al", "--target", "G=32", "--at-least", "Dmax=3", "--minimize", "cost", "-k", "3", "-q"]
    r = runner.invoke(pcids.cli.app, [*args, "--pareto-plot", str(fig)])
    assert r.exit_code == 0, r.output
    assert fig.stat().st_size > 10_000
    assert "G = 32, Dmax >= 3, min cost" in r.stdout and "P(Dmax>=3)" in r.stdout and "pareto" in r.stdout
    j = json.loads(runner.invoke(pcids.cli.app, [*args, "--json"]).stdout)
    c = pd.DataFrame(j["candidates"])
    assert {"p_at_least_Dmax", "p_constraints", "pareto", "cost", "dmax_if_glass_mm"} <= set(c.columns)
    assert j["settings"]["at_least"] == {"Dmax": 3.0} and j["settings"]["minimize"] == ["cost"]
    again = runner.invoke(pcids.cli.app, [*args, "--pareto-plot", str(fig)])
    assert again.exit_code == 1 and "exists" in again.output and "--force" in again.output


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--target", "Tq=5"], "unknown target 'Tq'"),
        (["--target", "G=33"], "target G given twice"),
        (["--at-least", "Dmax"], "expected NAME=VALUE"),
        (["--at-most", "cost=cheap"], "VALUE must be a number"),
        (["--at-least", "Dmax=8", "--at-most", "Dmax=4"], "contradictory constraints on Dmax"),
        (["--pareto-plot", "x.png"], "needs at least two objectives"),
    ],
)
def test_cli_bad_objectives_are_one_error_line(small_models, tmp_path, extra, match):
    extra = [str(tmp_path / e) if e.endswith(".png") else e for e in extra]
    r = runner.invoke(pcids.cli.app, ["design", "Cu", "Zr", "Al", "--G", "32", "-k", "2", "-q", *extra])
    assert r.exit_code == 1, r.output
    assert match in r.output and "Traceback" not in r.output


# ------------------------------------------------------------------ one consistent Dmax


def test_gfa_verdict_and_dmax_never_disagree():
    from pcids.datasets import load_gfa
    from pcids.models.gfa import load_gfa_model

    m = load_gfa_model()
    rng = np.random.default_rng(1)
    forms = list(load_gfa()["formula"].sample(400, random_state=0))
    forms += [f"Cu{a:.0f}Zr{b:.0f}Al{100 - a - b:.0f}" for a, b in 45 * rng.dirichlet([1, 1, 1], 100)[:, :2] + 5]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        df = m.predict_gfa(forms)
    t = float(m.threshold_mm)
    yes = df["verdict"] == "yes"
    assert yes.any() and (~yes).any() and (df["verdict"] == "possible").any()
    np.testing.assert_array_equal(yes, df["dmax_mm"] >= t)
    np.testing.assert_array_equal(df["bulk_glass"], yes)
    assert (df.loc[~yes, "dmax_mm"] == 0).all()
    np.testing.assert_array_equal(df["verdict"] == "no", df["p_bulk_glass"] < m.decision_threshold_)
    r = runner.invoke(pcids.cli.app, ["gfa", "--json", *forms[:20]])
    recs = json.loads(r.stdout)
    assert [x["verdict"] for x in recs] == list(df["verdict"][:20])
    assert all((x["verdict"] == "yes") == (x["dmax_mm"] >= t) == x["bulk_glass"] for x in recs)


def test_a_temperature_target_through_the_shipped_models():
    from pcids.models.properties import load_property_models

    fwd, inv, gfa = tiny_models()
    res = design(["Cu", "Zr"], {"Tg": 690}, forward=fwd, inverse=inv, gfa=gfa, top_k=3, minimize=["cost"], tolerance=0.03)
    c = res.candidates
    mean, std = load_property_models(["Tg"])["Tg"].predict_matrix(c[["Cu", "Zr"]].to_numpy(), ["Cu", "Zr"])
    np.testing.assert_allclose(c["Tg"], mean, rtol=1e-9)
    np.testing.assert_allclose(c["Tg_std"], std, rtol=1e-9)
    np.testing.assert_allclose(c["error_Tg"], (c["Tg"] - 690) / 690, rtol=1e-9)
    assert res.settings["units"]["Tg"] == "K" and "pareto" in c
    with pytest.warns(ExtrapolationWarning, match=r"target Tg = 3000 is outside the range of the data"):
        design(["Cu", "Zr"], {"Tg": 3000}, forward=fwd, inverse=inv, gfa=gfa, top_k=2)


def test_global_search_walks_to_a_non_moduli_target():
    res = run(targets={"G": 32, "density": 6.9}, strategy="global", n_random=16)
    assert res.settings["strategy"] == "global" and res.success
    c = res.candidates
    assert (np.abs(c.loc[c["status"] == "meets target and GFA", "density"] - 6.9) <= 0.02 * 6.9 + 1e-9).all()

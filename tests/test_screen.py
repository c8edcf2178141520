"""``pcids screen`` on a real 2-worker Dask LocalCluster (a 6-element palette, 3-4 elements: 35 systems).

One cluster serves the whole module (starting worker processes is the slow
part); the runs share ``batch_points`` so their batches, and so their
numbers, are the same computation, and any difference is a lost, repeated
or stale system.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from math import comb

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import pcids.cli
import warnings

from pcids.composition import Composition
from pcids.design.result import STATUS, STATUS_CONSTRAINTS
from pcids.errors import ExtrapolationWarning, ScreenError
from pcids.screen import check_palette, check_sizes, named_palette, screen
from pcids.screen import ranking
from pcids.screen.coarse import Spec, models, score_batch, system_lattice

PALETTE = ["Zr", "Cu", "Ni", "Al", "Ti", "Fe"]
TARGETS = {"G": 36.0, "K": 105.0}
N_SYSTEMS = comb(6, 3) + comb(6, 4)
KW = dict(sizes="3-4", targets=TARGETS, top=1, batch_points=1000)  # 25 batches: 10 of two 3-element systems, 15 of one 4-element system


@pytest.fixture(scope="module")
def client():
    from pcids.screen.cluster import connect

    with connect(workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def baseline(client, tmp_path_factory):
    out = tmp_path_factory.mktemp("screen") / "base"
    return screen(PALETTE, client=client, out=out, **KW)


def same_result(a, b):
    """Same systems, each once, with the same best compositions and numbers (rtol 1e-4)."""
    sa, sb = (r.systems.sort_values("system").reset_index(drop=True) for r in (a, b))
    assert sa["system"].is_unique and sb["system"].is_unique
    assert sa["system"].tolist() == sb["system"].tolist()
    assert sa["best"].tolist() == sb["best"].tolist()
    for col in ("score", "p_target", "p_gfa", "G", "K"):
        np.testing.assert_allclose(sa[col].astype(float), sb[col].astype(float), rtol=1e-4)
    ca, cb = (r.candidates.sort_values(["system", "candidate"]).reset_index(drop=True) for r in (a, b))
    assert ca["composition"].tolist() == cb["composition"].tolist()


# ------------------------------------------------------------ the coarse search, in-process


def test_coarse_scores_equal_the_models_on_every_lattice_point():
    from scipy.stats import norm

    from pcids.design import ranking as dr
    from pcids.design.known import default_glass_data, glass_reference

    spec = Spec(TARGETS, keep=3)
    part = score_batch(7, [("Zr", "Cu", "Al"), ("Ni", "Ti", "Fe")], spec)
    fwd, gfa = models(True)
    for system, g in part.groupby("system", sort=False):
        els = system.split("-")
        A = system_lattice(els, spec)
        assert len(A) == comb(19, len(els) - 1) and (A > 0).all() and np.allclose(A.sum(axis=1), 100)
        with warnings.catch_warnings():  # some corners lie outside the training data; same numbers either way
            warnings.simplefilter("ignore", ExtrapolationWarning)
            pred = fwd.predict([dict(zip(els, a)) for a in A])
            p = gfa.predict_proba([dict(zip(els, a)) for a in A])
        # P(|X - t| <= 2 % t) per target, X ~ N(mean, sigma), by scipy's normal; design's plausibility and score
        pt = np.prod([norm.cdf(1.02 * t, pred[n], pred[f"{n}_std"]) - norm.cdf(0.98 * t, pred[n], pred[f"{n}_std"]) for n, t in TARGETS.items()], axis=0)
        R, w, _ = glass_reference(default_glass_data(), els)
        ld = dr.Plausibility(R, w, dr.BANDWIDTH).log_density(A)
        score = dr.likelihood_score(pt, ld, p, dr.PLAUSIBILITY_WEIGHT, dr.GFA_WEIGHT)
        err = np.max([np.abs(pred[n].to_numpy() - t) / t for n, t in TARGETS.items()], axis=0)
        st = dr.status_codes(err <= 0.02, p >= gfa.decision_threshold_)
        best = np.lexsort((-score, st))[:3]
        np.testing.assert_allclose(g["score"], score[best], rtol=1e-4)
        assert g["status"].tolist() == [STATUS[c] for c in st[best]]
        assert g["batch"].eq(7).all() and g["candidate"].tolist() == [1, 2, 3]
        np.testing.assert_allclose(g.iloc[0][["G", "K", "log_density", "p_gfa"]].astype(float),
                                   [pred["G"].iloc[best[0]], pred["K"].iloc[best[0]], ld[best[0]], p[best[0]]], rtol=1e-4)


def dominated_by_any(F):
    """Brute force: row i is dominated when some row is no worse everywhere and better somewhere (minimised)."""
    le = (F[None, :, :] <= F[:, None, :]).all(axis=2)
    lt = (F[None, :, :] < F[:, None, :]).any(axis=2)
    return (le & lt).any(axis=1)


def test_objectives_put_each_status_groups_pareto_set_first():
    """With --minimize cost, every lattice point is scored (no pruning), and a system's order is design's:
    status, then the non-dominated points of (P(targets), cost) in that status group, then the rest, by score."""
    els = ("Zr", "Cu", "Al")
    part = score_batch(0, [els], Spec(TARGETS, keep=171, minimize=("cost",)))
    assert len(part) == 171 and part["n_gfa_scored"].iloc[0] == 171
    codes = ranking.status_code(part["status"])
    assert (np.diff(codes) >= 0).all()
    for c in np.unique(codes):
        g = part[codes == c]
        F = np.column_stack([-g["p_target"].to_numpy(float), g["cost"].to_numpy(float)])
        assert (g["pareto"].to_numpy() == ~dominated_by_any(F)).all()
        assert g["pareto"].iloc[: int(g["pareto"].sum())].all()  # the front leads its group
        for _, side in g.groupby("pareto"):
            assert (np.diff(side["score"].to_numpy(float)) <= 1e-12).all()
    plain = score_batch(0, [els], Spec(TARGETS, keep=171))
    assert set(plain["composition"]) == set(part["composition"])  # the same points, in another order
    assert not part["composition"].equals(plain["composition"])


def test_systems_pareto_set_leads_the_screen(client):
    res = screen(PALETTE, client=client, sizes="3", targets=TARGETS, minimize=["cost"], top=0, batch_points=1000)
    s = res.systems
    codes = ranking.status_code(s["status"])
    assert (np.diff(codes) >= 0).all() and s["pareto"].any()
    for c in np.unique(codes):
        g = s[codes == c]
        F = np.column_stack([-g["p_target"].to_numpy(float), g["cost"].to_numpy(float)])
        assert (g["pareto"].to_numpy() == ~dominated_by_any(F)).all()
        assert g["pareto"].iloc[: int(g["pareto"].sum())].all()
    assert res.settings["spec"]["minimize"] == ["cost"]


@pytest.mark.parametrize("at_least", [{}, {"Dmax": 4.0}], ids=["targets", "with a constraint"])
def test_coarse_ranking_is_designs_on_the_same_lattice(at_least):
    """design on the screen's 5 at.% lattice (every element >= 5): its pool (the points within tolerance,
    and the predictor's) gets the screen's scores and status, and its best is the screen's best."""
    from pcids.design import design

    els = ["Zr", "Cu", "Al"]
    spec = Spec(TARGETS, keep=171, at_least=at_least)
    part = score_batch(0, [tuple(els)], spec).set_index("composition")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        res = design(els, TARGETS, at_least=at_least, h=5, strategy="exhaustive", bounds={e: (5, 100) for e in els}, top_k=1, predictor_weight=0)
    ex = res.explored
    assert len(part) == 171
    ex = ex.set_index(pd.Index([Composition(tuple(zip(els, r))).formula_as_written for r in ex[els].to_numpy()]))
    within = part[part["status"] != STATUS[2]]
    assert len(within) >= 2 and set(within.index) <= set(ex.index)
    part, ex = part.loc[part.index.intersection(ex.index)], ex.loc[part.index.intersection(ex.index)]
    np.testing.assert_allclose(part["score"], ex["score"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(part["log_density"], ex["log_density"], rtol=1e-4, atol=1e-6)
    assert (part["status"] == ex["status"]).all()
    if at_least:
        np.testing.assert_allclose(part["p_constraints"], ex["p_constraints"], rtol=1e-4, atol=1e-6)
        assert (part["constraints_pass"] == ex["constraints_pass"]).all()
    # the best: design's best-scored pool row of the screen's best status (design's rank 1 is the
    # best-scored row meeting every check), the same composition unless the two best scores are a near-tie
    top = part.iloc[0]
    same = res.explored[res.explored["status"] == top["status"]]
    d1 = same.loc[same["score"].idxmax()]
    np.testing.assert_allclose(top["score"], d1["score"], rtol=1e-4)
    if part["score"].iloc[0] - part["score"].iloc[1] > 1e-3:
        assert Composition.from_formula(d1["composition"]) == Composition.from_formula(top.name)


def test_pruned_search_gives_the_unpruned_top_with_less_work():
    systems = [("Zr", "Cu", "Ni", "Al"), ("Zr", "Ti", "Fe"), ("Cu", "Al", "Ti", "Fe")]
    for spec in (Spec(TARGETS, keep=3), Spec(TARGETS, keep=2, gfa_threshold_mm=None), Spec(TARGETS, keep=3, at_least={"Dmax": 4.0})):
        a, b = score_batch(0, systems, spec), score_batch(0, systems, spec, prune=False)
        assert a["composition"].tolist() == b["composition"].tolist()
        np.testing.assert_allclose(a["score"], b["score"], rtol=1e-6)
        assert (b["n_gfa_scored"] == b["n_lattice"]).all() and (b["n_density"] == b["n_lattice"]).all()
        assert a["n_gfa_scored"].iloc[0] < 0.1 * a["n_lattice"].iloc[0]  # a system near the targets: few rows to score
        assert a["n_density"].iloc[0] < 0.2 * a["n_lattice"].iloc[0]
        assert a["n_gfa_scored"].sum() < b["n_gfa_scored"].sum()


def test_bounds_restrict_the_systems_that_hold_the_element():
    spec = Spec(TARGETS, bounds={"Fe": (0.0, 10.0)})
    part = score_batch(0, [("Zr", "Cu", "Fe"), ("Zr", "Cu", "Al")], spec)
    fe = part[part["system"] == "Zr-Cu-Fe"]
    assert (fe["n_lattice"] == 18 + 17).all()  # Fe 5 or 10 at.%: 18 + 17 splits of the rest
    assert all("Fe5" in c or "Fe10" in c for c in fe["composition"])
    assert (part.loc[part["system"] == "Zr-Cu-Al", "n_lattice"] == 171).all()


# ------------------------------------------------------------------- input checks


def test_bad_requests_get_specific_messages(tmp_path):
    with pytest.raises(ScreenError, match="'Xx' is not a chemical element"):
        check_palette("Zr,Cu,Xx")
    with pytest.raises(ScreenError, match=r"no data to screen W \(in 0 elastic"):
        check_palette(["Zr", "Cu", "W"])
    with pytest.raises(ScreenError, match="named more than once"):
        check_palette("Zr,Cu,Zr")
    with pytest.raises(ScreenError, match="unknown palette 'metals'"):
        check_palette("metals")
    for bad in ("1-3", "13", [2, 14]):
        with pytest.raises(ScreenError, match="between 2 and 12 elements"):
            check_sizes(bad, 20)
    with pytest.raises(ScreenError, match="palette of at least 5"):
        check_sizes("3-5", 4)
    with pytest.raises(ScreenError, match="sizes must look like"):
        check_sizes("three", 6)
    assert check_sizes("3-5", 6) == [3, 4, 5] and check_sizes("5,3", 6) == [3, 5]
    with pytest.raises(ScreenError, match="bounds given for Mg"):
        screen(PALETTE, targets=TARGETS, bounds={"Mg": (0, 10)})
    with pytest.raises(ScreenError, match="--step"):
        screen(PALETTE, targets=TARGETS, step=3)
    with pytest.raises(pcids.errors.DesignError, match="no target"):
        screen(PALETTE, targets={})
    with pytest.raises(pcids.errors.DesignError, match="unknown constraint 'Hv'"):
        screen(PALETTE, targets=TARGETS, at_least={"Hv": 500})
    with pytest.raises(pcids.errors.DesignError, match="cost is both maximised and minimised|both"):
        screen(PALETTE, targets=TARGETS, minimize=["cost"], maximize=["cost"])
    with pytest.raises(pcids.errors.DesignError, match="unknown objective 'Hv'"):
        screen(PALETTE, targets=TARGETS, maximize=["Hv"])
    (tmp_path / "old.txt").write_text("mine")
    with pytest.raises(ScreenError, match="exists and is not empty; pass --resume .* or --force"):
        screen(PALETTE, targets=TARGETS, out=tmp_path)
    with pytest.raises(ScreenError, match="holds no screen to continue"):
        screen(PALETTE, targets=TARGETS, out=tmp_path, resume=True)
    with pytest.raises(ScreenError, match="give one of them"):
        screen(PALETTE, targets=TARGETS, out=tmp_path, resume=True, force=True)
    assert (tmp_path / "old.txt").read_text() == "mine"


def test_named_palette_is_the_well_covered_elements():
    from pcids.datasets import load_elastic, load_gfa

    pal = named_palette("glass-formers")
    el, gfa = load_elastic(), load_gfa()
    assert {"Zr", "Cu", "Ni", "Al", "Ti"} <= set(pal) and "W" not in pal and "K" not in pal
    assert all((el[e] > 0).sum() >= 10 and (gfa[e] > 0).sum() >= 100 for e in pal)
    assert named_palette("glass-formers:5") == pal[:5] and check_palette("glass-formers:5") == pal[:5]



def test_the_all_palette_is_every_element_a_screen_accepts():
    from pcids.composition import PERIODIC_TABLE

    pal = named_palette("all")
    assert set(named_palette("glass-formers")) < set(pal) and pal[:5] == named_palette("glass-formers")[:5]
    assert check_palette(pal) == pal  # every one accepted ...
    for e in sorted(set(PERIODIC_TABLE) - set(pal))[:30]:  # ... and each other element refused
        with pytest.raises(ScreenError, match="no data to screen"):
            check_palette(["Zr", "Cu", e])
    assert len(named_palette("all:40")) == 40


def test_unreachable_scheduler_fails_clearly_within_the_timeout():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.monotonic()
    with pytest.raises(ScreenError, match=rf"no Dask scheduler answered at tcp://127.0.0.1:{port} within 1 s"):
        screen(PALETTE, targets=TARGETS, sizes=3, scheduler=f"tcp://127.0.0.1:{port}", timeout=1)
    assert time.monotonic() - t < 15
    with pytest.raises(ScreenError, match="tcp://HOST:PORT"):
        screen(PALETTE, targets=TARGETS, sizes=3, scheduler="127.0.0.1")
    with pytest.raises(ScreenError, match="--workers sizes the local cluster"):
        screen(PALETTE, targets=TARGETS, sizes=3, scheduler=f"tcp://127.0.0.1:{port}", workers=2)
    for bad in (0, 1.5):
        with pytest.raises(ScreenError, match="workers must be a positive integer"):
            screen(PALETTE, targets=TARGETS, sizes=3, workers=bad)


# ----------------------------------------------------------------- on the cluster


def test_the_local_cluster_listens_on_127_0_0_1_only(client):
    sched = client.cluster.scheduler
    addresses = [client.scheduler.address, *client.scheduler_info(n_workers=-1)["workers"]]
    addresses += [w["nanny"] for w in client.scheduler_info(n_workers=-1)["workers"].values()]
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
    assert sched.http_server.address == "127.0.0.1"  # its HTTP routes (health, metrics); the dashboard is off


def test_screen_ranks_every_system_once_and_writes_the_tables(baseline):
    s = baseline.systems
    assert len(s) == N_SYSTEMS and s["system"].is_unique
    assert s["rank"].tolist() == list(range(1, N_SYSTEMS + 1))
    keys = list(zip(ranking.status_code(s["status"]), -s["score"].astype(float)))
    assert keys == sorted(keys)  # status first, then the score, as design ranks
    assert baseline.stats["batches_run"] == baseline.stats["n_batches"] == 25 and baseline.stats["workers"] == 2
    top = s.iloc[0]
    assert top["refined"] and s["refined"].sum() == 1
    assert top["best"] in (top["coarse_best"], top["refined_best"])
    assert top["refined_best"] in set(baseline.refined["composition"])
    assert (baseline.candidates.groupby("system").size() == 3).all()
    out = baseline.out
    for name in ("screen.json", "systems.csv", "candidates.csv", "refined.csv", "manifest.json"):
        assert (out / name).is_file()
    parquet = pd.read_parquet(out / "systems")
    assert sorted(parquet["n_elements"].astype(int).unique()) == [3, 4] and len(parquet) == N_SYSTEMS
    assert sorted(p.name for p in (out / "systems").iterdir()) == ["n_elements=3", "n_elements=4"]
    js = json.loads((out / "screen.json").read_text())
    assert js["systems"][0]["system"] == top["system"] and len(js["systems"][0]["candidates"]) == 3
    assert js["systems"][0]["refined_candidates"][0]["status"]
    assert pd.read_csv(out / "systems.csv")["system"].tolist() == s["system"].tolist()


def test_resume_after_an_interruption_gives_the_uninterrupted_result(client, baseline, tmp_path):
    out = tmp_path / "r"

    def stop(batch, n_done):
        if n_done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        screen(PALETTE, client=client, out=out, on_batch=stop, **KW)
    saved = len(list((out / "coarse").rglob("batch-*.parquet")))
    assert 5 <= saved < 25 and not (out / "systems.csv").exists()
    res = screen(PALETTE, client=client, out=out, resume=True, **KW)
    assert res.stats["batches_resumed"] == saved and res.stats["batches_run"] == 25 - saved
    same_result(res, baseline)
    again = screen(PALETTE, client=client, out=out, resume=True, **KW)  # nothing left to do
    assert again.stats["batches_run"] == 0 and again.stats["refined_run"] == 0
    same_result(again, baseline)
    with pytest.raises(ScreenError, match=r"other settings \(sizes: was \[3, 4\], now \[3\]"):
        screen(PALETTE, client=client, out=out, resume=True, **{**KW, "sizes": 3})


def test_only_screens_the_given_systems(client, baseline):
    pick = baseline.systems["system"].iloc[[0, 5, 30]].tolist()
    res = screen(PALETTE, targets=TARGETS, only=[pick[2], tuple(pick[1].split("-")), pick[0]], client=client, top=0)
    assert sorted(res.systems["system"]) == sorted(pick) and res.stats["n_systems"] == 3
    want = baseline.candidates[baseline.candidates["candidate"] == 1].set_index("system")["score"]  # the coarse best, before refinement
    np.testing.assert_allclose(res.systems.set_index("system")["score"].loc[pick], want.loc[pick], rtol=1e-4)
    with pytest.raises(ScreenError, match="system Zr-Mg-Al: needs 2 to 12 distinct elements of the palette"):
        screen(PALETTE, targets=TARGETS, only=["Zr-Mg-Al"])
    with pytest.raises(ScreenError, match="given more than once"):
        screen(PALETTE, targets=TARGETS, only=["Zr-Cu-Al", "Al-Cu-Zr"])


def test_cli_runs_on_an_existing_scheduler(client, baseline, tmp_path):
    addr = client.scheduler.address
    args = ["screen", "--palette", ",".join(PALETTE), "--sizes", "3-4", "--G", "36", "--K", "105", "--top", "1",
            "--batch-points", "1000", "--scheduler", addr, "--out", str(tmp_path / "c"), "-q"]
    res = CliRunner().invoke(pcids.cli.app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    best = baseline.systems.iloc[0]
    assert best["system"] in res.output and best["best"] in res.output
    assert f"{N_SYSTEMS} systems screened (25 batches run, 0 resumed) on 2 worker(s)" in res.output
    assert pd.read_csv(tmp_path / "c" / "systems.csv")["system"].tolist() == baseline.systems["system"].tolist()
    again = CliRunner().invoke(pcids.cli.app, args)
    assert again.exit_code == 1 and again.output.startswith("Error: --out") and "--resume" in again.output
    bad = CliRunner().invoke(pcids.cli.app, ["screen", "--palette", "Zr,Cu,W", "--G", "36"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: pcids has no data to screen W")
    # design's objective flags, parsed by design's code
    con = [*args[:-3], "--at-least", "Dmax=4", "--top", "0", "--out", str(tmp_path / "d"), "-q"]
    res = CliRunner().invoke(pcids.cli.app, con, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "best systems for G = 36, K = 105, Dmax >= 4" in res.output
    s = pd.read_csv(tmp_path / "d" / "systems.csv")
    assert (s["constraints_pass"] == (s["p_constraints"] >= 0.5)).all() and s["p_constraints"].between(0, 1).all()
    assert s.loc[s["status"] == STATUS[0], "constraints_pass"].all()  # ok means the constraint is met too
    assert s.loc[~s["constraints_pass"], "status"].isin([STATUS_CONSTRAINTS, *STATUS[1:]]).all()
    mx = CliRunner().invoke(pcids.cli.app, [*args[:-3], "--minimize", "cost", "--top", "0", "--out", str(tmp_path / "m"), "-q"], env={"COLUMNS": "200"})
    assert mx.exit_code == 0, mx.output
    m = pd.read_csv(tmp_path / "m" / "systems.csv")
    assert {"cost", "pareto"} <= set(m.columns) and m["pareto"].any()
    twice = CliRunner().invoke(pcids.cli.app, [*args[:9], "--target", "G=30"])
    assert twice.exit_code == 1 and "target G given twice" in twice.output


def test_a_killed_worker_loses_no_system_and_repeats_none(client, baseline, tmp_path):
    before = client.run(os.getpid)
    killed = []

    def kill_one(batch, n_done):
        if n_done == 3 and not killed:
            addr, pid = sorted(before.items())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(addr)

    res = screen(PALETTE, client=client, out=tmp_path / "k", on_batch=kill_one, **KW)
    assert killed and res.stats["batches_run"] == 25
    same_result(res, baseline)
    parts = sorted((tmp_path / "k" / "coarse").rglob("batch-*.parquet"))
    assert len(parts) == 25
    assert killed[0] not in client.scheduler_info(n_workers=-1)["workers"]  # gone (the nanny restarts it elsewhere)


def test_the_refined_candidates_are_designs_scored_as_the_coarse_search_scores(baseline):
    """design's candidates in design's order, with design's score as ``design_score`` and, as ``score``, the
    same score without design's predictor term (what the coarse search computes: it has no predictor);
    the system's refined best is the best of them by status and that score."""
    from pcids.design import design

    top = baseline.systems.iloc[0]
    els = top["system"].split("-")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        res = design(els, TARGETS, top_k=5)
    ref = baseline.refined[baseline.refined["system"] == top["system"]].reset_index(drop=True)
    d = res.candidates
    assert len(ref) == len(d)
    np.testing.assert_allclose(ref["design_score"], d["score"], rtol=1e-4, atol=1e-6)
    assert ref["status"].tolist() == d["status"].tolist()
    from pcids.design import ranking as dr

    free = dr.likelihood_score(d["p_target"], d["log_density"], d["p_gfa"], dr.PLAUSIBILITY_WEIGHT, dr.GFA_WEIGHT)
    np.testing.assert_allclose(ref["score"], free, rtol=1e-4, atol=1e-6)
    assert (ref["score"] >= ref["design_score"] - 1e-9).all()  # the predictor term only lowers a score
    codes = ranking.status_code(d["status"])
    free = np.asarray(free, dtype=float)
    order = np.lexsort((-free, codes))
    np.testing.assert_allclose(top["refined_score"], free[order[0]], rtol=1e-4)
    if len(order) > 1 and (codes[order[1]] != codes[order[0]] or free[order[0]] - free[order[1]] > 1e-3):
        assert top["refined_best"] == d["composition"].iloc[order[0]]


def test_workers_run_numpy_inference_on_one_blas_thread_without_torch(client, baseline):
    def state():
        import sys

        from threadpoolctl import threadpool_info

        import dask

        return "torch" in sys.modules, sorted({p["num_threads"] for p in threadpool_info()}), dask.config.get("distributed.worker.profile.enabled")

    for torch_loaded, threads, profiling in client.run(state).values():
        assert not torch_loaded and list(threads) == [1] and profiling is False  # the quiet LocalCluster's settings reached the workers


def test_a_script_without_the_main_guard_gets_a_message_that_says_so(tmp_path):
    """Dask's worker processes import the script; without `if __name__ == "__main__":` the cluster cannot start."""
    import subprocess
    import sys

    script = tmp_path / "noguard.py"
    script.write_text("from pcids.screen import screen\nscreen(['Zr', 'Cu', 'Al'], sizes=3, targets={'G': 36}, top=0, workers=1)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(__import__("pathlib").Path(pcids.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode != 0
    said = [line for line in r.stderr.splitlines() if line.startswith("pcids.errors.ScreenError: the local Dask cluster could not start")]
    assert said and 'if __name__ == "__main__":' in said[-1], r.stderr[-2000:]


def test_quiet_env_is_the_embedded_clusters_settings():
    import dask

    from pcids.screen.cluster import QUIET, quiet_env

    env = quiet_env()
    assert len(env) == len(QUIET) and all(k.startswith("DASK_DISTRIBUTED__") for k in env)
    got = dask.config.collect(paths=[], env=env)  # what Dask reads from those variables
    for key, value in QUIET.items():
        node = got
        for part in key.split("."):
            node = node[part.replace("-", "_")] if part.replace("-", "_") in node else node[part]
        assert str(node) == str(value)

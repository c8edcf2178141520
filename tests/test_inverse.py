"""InverseModel (DKIDN / RIDN / softmax head), encoding, rounding and propose()."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from pcids import Composition
from pcids.errors import (
    DesignError,
    ExtrapolationWarning,
    ModelFileError,
    NotFittedError,
    PcidsError,
    UnknownElementError,
    UnsupportedElementError,
)
from pcids.models.inverse import (
    InverseModel,
    canonical_order,
    elastic_training_data,
    encode,
    propose,
    round_to_step,
)

TINY = dict(hidden_layer_sizes=(32, 32), epochs=150, dropout=0.0, lr=0.01)
FITTED = dict(TINY, epochs=300)


@pytest.fixture(scope="module")
def data():
    return elastic_training_data(order="canonical")


@pytest.fixture(scope="module")
def tiny(data):
    Y, A, _, _ = data
    return InverseModel(**FITTED, seed=3).fit(Y, A)


def test_encode_matches_paper_example():
    # Paper 3.2.1: Zr68Al8Ni8Cu16 -> (26.8, 102.2, 91.224, 26.982, Ni, Cu, 0, 0, 0)
    Y = encode([26.8], [102.2], [["Zr", "Al", "Ni", "Cu"]])
    assert Y.shape == (1, 9)
    np.testing.assert_allclose(Y[0, :4], [26.8, 102.2, 91.224, 26.982], atol=1e-3)
    np.testing.assert_allclose(Y[0, 4:6], [58.69, 63.55], atol=0.02)
    assert np.all(Y[0, 6:] == 0)


def test_canonical_order_is_descending_mass():
    assert canonical_order(["Be", "Fe", "Ti", "Zr"]) == ("Zr", "Fe", "Ti", "Be")
    assert canonical_order(["Ti", "Zr", "Be", "Fe"]) == canonical_order(["Fe", "Be", "Zr", "Ti"])


def test_training_data_shapes_and_orders(data):
    Y, A, lists, df = data
    assert Y.shape == (len(df), 9) and A.shape == (len(df), 7)
    assert len(df) >= 240 and np.isfinite(df["K"]).all()
    np.testing.assert_allclose(A.sum(axis=1), 100.0, atol=1e-6)
    assert all(list(ls) == list(canonical_order(ls)) for ls in lists)
    Yw, Aw, lw, _ = elastic_training_data(order="as_written")
    # the written order puts the base (largest) element first in nearly every alloy
    assert np.mean(Aw[:, 0] == Aw.max(axis=1)) > 0.9
    with pytest.raises(PcidsError, match="order"):
        elastic_training_data(order="alphabetical")


def test_padded_outputs_are_zero_and_learning_happens(data, tiny):
    Y, A, _, _ = data
    P = tiny.predict(Y)
    assert P.shape == A.shape
    assert np.all(P[Y[:, 2:] == 0] == 0)
    hist = tiny.loss_history_[0]
    assert hist[-1] < 0.2 * hist[0]
    # after training, far better than predicting equal fractions on the training set
    eq = np.where(Y[:, 2:] > 0, 100.0 / (Y[:, 2:] > 0).sum(1, keepdims=True), 0)
    assert np.mean((P - A) ** 2) < 0.8 * np.mean((eq - A) ** 2)


def test_softmax_head_sums_to_100_and_positive(data):
    Y, A, _, _ = data
    m = InverseModel(**dict(TINY, epochs=40), head="softmax", features="properties").fit(Y, A)
    P = m.predict(Y)
    real = Y[:, 2:] > 0
    np.testing.assert_allclose(P.sum(axis=1), 100.0, atol=1e-3)
    assert np.all(P[real] > 0) and np.all(P[~real] == 0)


def test_dkidn_penalty_pulls_sum_towards_100(data):
    Y, A, _, _ = data
    kw = dict(TINY, epochs=60, seed=1)
    ridn = InverseModel(loss="ridn", **kw).fit(Y, A).predict(Y)
    dk = InverseModel(loss="dkidn", alpha=5.0, **kw).fit(Y, A).predict(Y)
    dev = lambda P: np.mean(np.abs(P.sum(1) - 100))  # noqa: E731
    assert dev(dk) < dev(ridn)


def test_deterministic_and_seed_dependent(data):
    Y, A, _, _ = data
    kw = dict(TINY, epochs=30, dropout=0.2)
    a = InverseModel(**kw, seed=5).fit(Y, A).predict(Y[:20])
    b = InverseModel(**kw, seed=5).fit(Y, A).predict(Y[:20])
    c = InverseModel(**kw, seed=6).fit(Y, A).predict(Y[:20])
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_ensemble_is_mean_of_members(data):
    Y, A, _, _ = data
    kw = dict(TINY, epochs=20)
    ens = InverseModel(**kw, n_ensemble=2, seed=10).fit(Y, A).predict(Y[:10])
    m0 = InverseModel(**kw, seed=10).fit(Y, A).predict(Y[:10])
    m1 = InverseModel(**kw, seed=11).fit(Y, A).predict(Y[:10])
    np.testing.assert_allclose(ens, (m0 + m1) / 2, atol=1e-4)


def test_sklearn_contract(data):
    m = InverseModel(loss="ridn", hidden_layer_sizes=(310,) * 4)
    assert m.get_params()["loss"] == "ridn"
    c = clone(m).set_params(alpha=0.5)
    assert c.alpha == 0.5 and not hasattr(c, "layers_")
    with pytest.raises(NotFittedError, match="InverseModel"):
        m.predict(data[0][:2])


@pytest.mark.parametrize(
    "params, match",
    [({"loss": "mae"}, "loss"), ({"head": "sigmoid"}, "head"), ({"epochs": 0}, "epochs"),
     ({"lr": -1.0}, "lr"), ({"n_ensemble": 0}, "n_ensemble"), ({"alpha": -0.1}, "alpha")],
)
def test_bad_params_are_clear(data, params, match):
    with pytest.raises(PcidsError, match=match):
        InverseModel(**params).fit(data[0][:5], data[1][:5])


def test_bad_arrays_are_clear(data):
    Y, A, _, _ = data
    m = InverseModel(**TINY)
    with pytest.raises(PcidsError, match="shape"):
        m.fit(Y[:, :5], A)
    bad = A.copy()
    bad[0, 6] = 5.0
    assert Y[0, 8] == 0
    with pytest.raises(PcidsError, match="padded"):
        m.fit(Y, bad)
    Yn = Y.copy()
    Yn[0, 0] = np.nan
    with pytest.raises(PcidsError, match="NaN"):
        m.fit(Yn, A)


def test_save_load_roundtrip_and_damage(tmp_path, data, tiny):
    Y = data[0]
    path = tiny.save(tmp_path / "inv", metadata={"note": "test"})
    back = InverseModel.load(tmp_path / "inv")
    np.testing.assert_array_equal(back.predict(Y[:30]), tiny.predict(Y[:30]))
    assert back.get_params() == tiny.get_params()
    assert back.metadata_["note"] == "test"
    with pytest.raises(ModelFileError, match="exists"):
        tiny.save(tmp_path / "inv")
    blob = (tmp_path / "inv.npz").read_bytes()
    (tmp_path / "inv.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ModelFileError, match="corrupted or truncated"):
        InverseModel.load(tmp_path / "inv")
    with pytest.raises(ModelFileError, match="not found"):
        InverseModel.load(tmp_path / "missing")
    assert path.suffix == ".json"


# ---- rounding -------------------------------------------------------------


def test_round_to_step_examples():
    np.testing.assert_array_equal(round_to_step([44.4, 22.3, 29.6, 3.7]), [44, 22, 30, 4])
    np.testing.assert_array_equal(round_to_step([80.0, -3.0, 23.0]), [77, 1, 22])
    out = round_to_step([33.33, 33.33, 33.34], step=0.5)
    assert out.sum() == 100 and np.all(out % 0.5 == 0)
    with pytest.raises(DesignError, match="divide 100"):
        round_to_step([50, 50], step=3)
    with pytest.raises(DesignError, match="at least"):
        round_to_step([1.0] * 7, step=25)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-50, 150, allow_nan=False), min_size=2, max_size=7),
    st.sampled_from([0.5, 1.0, 2.0, 5.0]),
)
def test_round_to_step_properties(x, step):
    out = round_to_step(x, step)
    assert out.sum() == pytest.approx(100.0, abs=1e-9)
    assert np.all(out >= step)
    np.testing.assert_allclose(out / step, np.round(out / step), atol=1e-9)


# ---- propose ---------------------------------------------------------------


def test_propose_order_invariant_and_valid(tiny):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        a = propose(["Ti", "Zr", "Be", "Fe"], 36, 105, model=tiny)
        b = propose(["Fe", "Be", "Zr", "Ti"], 36, 105, model=tiny)
    assert isinstance(a, Composition) and a == b
    assert a.elements == ("Ti", "Zr", "Be", "Fe") and b.elements == ("Fe", "Be", "Zr", "Ti")
    assert sum(a.fractions) == 100 and all(f >= 1 and float(f).is_integer() for f in a.fractions)


def test_propose_is_the_rounded_prediction(data, tiny):
    Y, A, lists, df = data
    i = int(np.argmax(df["n_elements"].to_numpy() == 4))
    els = list(lists[i])[::-1]  # not the canonical order
    comp = propose(els, float(df["G"][i]), float(df["K"][i]), model=tiny)
    raw = tiny.predict(Y[i : i + 1])[0, :4]
    expected = dict(zip(lists[i], round_to_step(raw)))
    assert dict(comp) == pytest.approx(expected)
    # the raw prediction and its projection differ by at most the rounding
    assert np.abs(np.array([comp[e] for e in lists[i]]) - raw * 100 / raw.sum()).max() <= 1.0 + 1e-9


def test_propose_warns_on_extrapolation(tiny):
    with pytest.warns(ExtrapolationWarning, match="G = 500"):
        propose(["Cu", "Zr"], 500, 105, model=tiny)


@pytest.mark.parametrize(
    "elements, exc, match",
    [
        (["Cu"], DesignError, "2 to 7"),
        (["Cu", "Zr", "Al", "Ni", "Ti", "Be", "Fe", "Co"], DesignError, "2 to 7"),
        (["Cu", "Cu", "Zr"], DesignError, "more than once"),
        (["Cu", "Xx"], UnknownElementError, "Xx"),
        (["Cu", "Og"], UnsupportedElementError, "Og"),
        ("CuZr", DesignError, "sequence"),
    ],
)
def test_propose_bad_elements(tiny, elements, exc, match):
    with pytest.raises(exc, match=match):
        propose(elements, 30, 100, model=tiny)


@pytest.mark.parametrize("G, K", [(-1, 100), (30, float("nan")), (0, 100), ("30", 100)])
def test_propose_bad_targets(tiny, G, K):
    with pytest.raises(DesignError, match="positive number"):
        propose(["Cu", "Zr"], G, K, model=tiny)


# ---- slot order --------------------------------------------------------------


@pytest.mark.parametrize("slot_order", ["typical", "mass"])
def test_order_free_models_are_permutation_equivariant(data, slot_order):
    Y, A, lists, _ = data
    m = InverseModel(**dict(TINY, epochs=20), slot_order=slot_order).fit(Y, A)
    rng = np.random.default_rng(0)
    k = (Y[:, 2:] > 0).sum(1)
    perm = np.array([np.r_[rng.permutation(n), np.arange(n, 7)] for n in k])
    Yp = np.hstack([Y[:, :2], np.take_along_axis(Y[:, 2:], perm, axis=1)])
    P, Pp = m.predict(Y), m.predict(Yp)
    # the prediction for slot j of the permuted input is the prediction for its source slot
    np.testing.assert_allclose(Pp, np.take_along_axis(P, perm, axis=1), atol=1e-4)
    # and training on permuted inputs gives the same model
    Ap = np.take_along_axis(A, perm, axis=1)
    m2 = InverseModel(**dict(TINY, epochs=20), slot_order=slot_order).fit(Yp, Ap)
    np.testing.assert_allclose(m2.predict(Y), P, atol=1e-3)


def test_given_order_model_depends_on_order(data):
    Y, A, _, _ = data
    m = InverseModel(**dict(TINY, epochs=40), slot_order="given").fit(Y, A)
    Yr = Y.copy()
    Yr[:, 2:4] = Y[:, [3, 2]]
    P, Pr = m.predict(Y), m.predict(Yr)
    assert np.abs(Pr[:, [1, 0]] - P[:, :2]).max() > 1.0


def test_typical_order_puts_base_elements_first(data):
    Y, A, lists, _ = data
    m = InverseModel(**dict(TINY, epochs=1)).fit(Y, A)
    med = dict(zip(np.round(m.order_masses_, 3), m.order_typical_))
    from pcids.elements import atomic_masses

    zr, be = atomic_masses(["Zr", "Be"])
    assert med[round(zr, 3)] > med[round(be, 3)]  # Zr is typically the base, Be a minor addition


def test_unseen_element_set_warns(data, tiny):
    Y, A, lists, df = data
    i = int(np.argmax(df["n_elements"].to_numpy() == 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        propose(list(lists[i]), float(df["G"][i]), float(df["K"][i]), model=tiny)  # a training system: silent
    seen = set(df["system"])
    assert "Be-Fe-Ti-Zr" not in seen
    with pytest.warns(ExtrapolationWarning, match="element set Be-Fe-Ti-Zr never occurs"):
        propose(["Ti", "Zr", "Be", "Fe"], 36, 105, model=tiny)

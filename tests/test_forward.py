"""ForwardModel: sklearn contract, learning, determinism, save/load safety."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.base import clone

from pcids.errors import DataError, ModelFileError, NotFittedError, PcidsError
from pcids.models.forward import PAPER_HYPERPARAMETERS, ForwardModel


def _toy(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Descriptor-like inputs on the real scales (VEC, Tm, chi, r) and a smooth target."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [rng.uniform(3, 9, n), rng.uniform(900, 2000, n), rng.uniform(1.2, 2.0, n), rng.uniform(125, 170, n)]
    )
    y = 30 + 4 * (X[:, 0] - 6) + 0.01 * (X[:, 1] - 1400) - 0.8 * (X[:, 3] - 145) + 0.02 * (X[:, 3] - 145) ** 2
    return X, y


def _small(**kw) -> ForwardModel:
    params = dict(hidden_layer_sizes=(16, 16), dropout=0.0, learning_rate=0.01, epochs=300, seed=3)
    params.update(kw)
    return ForwardModel(**params)


def test_learns_a_smooth_target_and_generalises():
    X, y = _toy(160)
    m = _small().fit(X[:120], y[:120])
    resid = m.predict(X[120:]) - y[120:]
    r2 = 1 - np.sum(resid**2) / np.sum((y[120:] - y[120:].mean()) ** 2)
    assert r2 > 0.95
    assert m.score(X[:120], y[:120]) > 0.97  # RegressorMixin.score is R²
    assert m.loss_curve_[-1] < 0.1 * m.loss_curve_[0]


def test_same_seed_same_numbers_and_different_seed_differs():
    X, y = _toy()
    a = _small().fit(X, y).predict(X)
    b = _small().fit(X, y).predict(X)
    c = _small(seed=4).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert np.max(np.abs(a - c)) > 1e-4


def test_fit_does_not_touch_global_rng():
    X, y = _toy(40)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _small(epochs=5).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_sklearn_contract():
    m = ForwardModel(hidden_layer_sizes=(8,), epochs=10)
    assert m.get_params()["hidden_layer_sizes"] == (8,)
    m2 = clone(m).set_params(dropout=0.2)
    assert m2.dropout == 0.2 and m.dropout == 0.0
    assert not hasattr(m, "layers_")
    with pytest.raises(NotFittedError, match="ForwardModel"):
        m.predict(np.zeros((1, 4)))


def test_paper_configurations():
    g, k = ForwardModel.paper("G"), ForwardModel.paper("K")
    assert g.hidden_layer_sizes == (450, 450) and g.learning_rate == 0.007 and g.epochs == 2000
    assert k.hidden_layer_sizes == (600, 600) and k.dropout == 0.1 and k.learning_rate == 0.009 and k.epochs == 2100
    assert g.dropout == PAPER_HYPERPARAMETERS["G"]["dropout"] < 1.0
    with pytest.raises(PcidsError, match="'G' or 'K'"):
        ForwardModel.paper("E")


@pytest.mark.parametrize(
    "kw, match",
    [({"dropout": 1.0}, "dropout"), ({"epochs": 0}, "epochs"), ({"learning_rate": -1.0}, "learning_rate")],
)
def test_bad_hyperparameters_are_named(kw, match):
    X, y = _toy(20)
    with pytest.raises(PcidsError, match=match):
        _small(**kw).fit(X, y)


def test_bad_data_is_rejected_clearly():
    X, y = _toy(20)
    with pytest.raises(DataError, match="inconsistent numbers of samples: \\[20, 19\\]"):
        _small().fit(X, y[:-1])
    y_nan = y.copy()
    y_nan[3] = np.nan
    with pytest.raises(DataError, match="y contains NaN"):
        _small().fit(X, y_nan)
    with pytest.raises(DataError, match="at least 2 samples, got 1 sample"):
        _small().fit(X[:1], y[:1])
    m = _small(epochs=5).fit(X, y)
    with pytest.raises(DataError, match="X has 3 features, but ForwardModel is expecting 4"):
        m.predict(X[:, :3])
    with pytest.raises(DataError, match="Expected 2D array, got 1D array"):
        m.predict(X[0])  # one alloy must be a (1, n_features) row, not guessed from a 1-D array
    with pytest.raises(DataError, match="Complex data not supported"):
        m.predict(X + 1j)
    assert issubclass(DataError, ValueError) and issubclass(DataError, PcidsError)


def test_folded_layers_reproduce_predict():
    X, y = _toy(60)
    m = _small(dropout=0.2).fit(X, y)
    h = X
    layers = m.folded_layers()
    for i, (W, b) in enumerate(layers):
        h = h @ W + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    assert layers[-1][0].shape[1] == 1
    np.testing.assert_allclose(h[:, 0], m.predict(X), rtol=1e-4, atol=1e-3)


def test_save_load_roundtrip(tmp_path):
    X, y = _toy(60)
    m = _small(dropout=0.1).fit(X, y)
    m.save(tmp_path / "g", data_hash="abc", metrics={"r2": 0.9})
    loaded = ForwardModel.load(tmp_path / "g")
    np.testing.assert_array_equal(loaded.predict(X), m.predict(X))
    assert loaded.get_params() == m.get_params()
    meta = loaded.metadata_
    assert meta["data_hash"] == "abc" and meta["feature_names"] == ["VEC", "Tm", "chi", "r"]
    with pytest.raises(ModelFileError, match="exists"):
        m.save(tmp_path / "g")


def test_corrupted_truncated_and_mismatched_files_fail_clearly(tmp_path):
    X, y = _toy(40)
    _small(epochs=5).fit(X, y).save(tmp_path / "m")
    pt, js = tmp_path / "m.npz", tmp_path / "m.json"
    blob = pt.read_bytes()
    pt.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ModelFileError, match="corrupted or truncated"):
        ForwardModel.load(tmp_path / "m")
    pt.write_bytes(blob)
    meta = json.loads(js.read_text())
    meta["hyperparameters"]["hidden_layer_sizes"] = [17, 16]
    js.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="do not match"):
        ForwardModel.load(tmp_path / "m")
    js.write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        ForwardModel.load(tmp_path / "m")
    with pytest.raises(ModelFileError, match="not found"):
        ForwardModel.load(tmp_path / "absent")


def test_dropout_masks_drop_at_the_rate_keep_the_mean_and_are_seeded():
    from pcids.models._mlp import Dropout, DropoutMasks, build_mlp

    h = torch.ones(400, 500)
    out = DropoutMasks(0.1, seed=3)(h)
    dropped = float((out == 0).float().mean())
    assert dropped == pytest.approx(0.1, abs=0.005)  # 200,000 draws: std of the rate ~0.0007
    assert float(out.mean()) == pytest.approx(1.0, abs=0.01)  # inverted dropout keeps the expectation
    torch.testing.assert_close(DropoutMasks(0.1, seed=3)(h), out)
    assert not torch.equal(DropoutMasks(0.1, seed=4)(h), out)
    assert torch.equal(DropoutMasks(0.0, seed=3)(h), h)
    with pytest.raises(PcidsError, match="dropout"):
        DropoutMasks(1.0, seed=0)
    net = build_mlp(4, (8,), 0.2, 2)
    assert isinstance(net[2], Dropout) and net[2].p == 0.2
    net.train()
    with pytest.raises(PcidsError, match="mask stream"):
        net(torch.ones(3, 4))  # training outside train_full_batch has no mask source
    net.eval()
    assert net(torch.ones(3, 4)).shape == (3, 2)  # identity at inference


@pytest.mark.parametrize("gather", [False, True])
@pytest.mark.parametrize("hidden, dropout, n_out", [((24, 20), 0.25, 2), ((16, 16, 12), 0.0, 3), ((10,), 0.1, 1)])
def test_hand_written_step_matches_autograd(monkeypatch, hidden, dropout, n_out, gather):
    """train_full_batch's _MLPStep gives the weights and losses of the autograd loop.

    Not bit for bit: the two run different GEMM shapes (W's gradient as g.T @ h
    against autograd's (h.T @ g).T, and over the live rows only when gathering),
    which BLAS kernels on other CPUs may round differently. A one-ulp change of
    the inputs moves these weights by < 5e-6 after 60 epochs; a 20 % change of
    the weight decay moves them by > 0.05, so the tolerance still catches a wrong
    step (``benchmarks/screens/float_noise.py``).
    """
    import copy

    from pcids.models import _mlp

    # live-row gathering of the hidden-to-hidden weight gradient, forced on or off
    monkeypatch.setattr(_mlp, "ALIVE_GATHER", 2.0 if gather else 0.0)

    class Plain(torch.nn.Sequential):  # not exactly nn.Sequential: takes the autograd loop
        pass

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(37, 5)), rng.normal(size=(37, n_out))
    with _mlp.seeded(1):
        fast = _mlp.build_mlp(5, hidden, dropout, n_out)
    slow = Plain(*copy.deepcopy(list(fast)))
    assert _mlp._MLPStep.supports(fast, torch.zeros(2, 5)) and not _mlp._MLPStep.supports(slow, torch.zeros(2, 5))

    def loss(out, target):  # a loss other than plain MSE, as the inverse models use
        return torch.mean((out - target) ** 2) + 0.1 * torch.mean(out.sum(dim=1) ** 2)

    runs = [_mlp.train_full_batch(m, X, Y, loss, lr=0.02, epochs=60, seed=5, weight_decay=1e-4) for m in (fast, slow)]
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5)
    for (name, a), b in zip(fast.state_dict().items(), slow.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)

"""Inference runs in numpy from the saved arrays; it must agree with torch's forward pass of the same weights."""

from __future__ import annotations

import numpy as np
import torch

from pcids.models._inference import linear_layers, sequential_state
from pcids.models._mlp import build_mlp
from pcids.models.ensemble import load_elastic_model
from pcids.models.forward import ForwardModel
from pcids.models.inverse import InverseModel, encode, load_inverse_model


def _torch_net(layers, hidden, dropout, n_out):
    net = build_mlp(layers[0][0].shape[0], hidden, dropout, n_out)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in sequential_state(layers, dropout).items()})
    return net.eval()


def test_forward_model_numpy_predict_matches_torch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)) * [1.5, 300, 0.2, 12] + [6, 1400, 1.6, 145]
    y = 30 + 4 * X[:, 0] - 0.5 * X[:, 3] + rng.normal(size=200)
    m = ForwardModel(hidden_layer_sizes=(24, 16), dropout=0.1, epochs=80, seed=2).fit(X, y)
    net = _torch_net(m.layers_, (24, 16), 0.1, 2)
    with torch.inference_mode():
        out = net(torch.from_numpy(((X - m.x_mean_) / m.x_scale_).astype(np.float32))).numpy()
    expected = out.mean(axis=1).astype(np.float64) * m.y_scale_ + m.y_mean_
    np.testing.assert_allclose(m.predict(X), expected, rtol=1e-4, atol=1e-4)
    assert np.std(expected) > 1.0  # a network that learnt something, not a constant


def test_shipped_ensembles_numpy_stack_matches_torch_members():
    model = load_elastic_model()
    X = model.descriptors().transform(["Cu50Zr50", "Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Pd40Ni40P20", "Ti41Zr25Be28Fe6"])
    mean, _ = model.predict_descriptors(X)
    for j, ens in enumerate((model.G_, model.K_)):
        outs = []
        for m in ens.members_:
            net = _torch_net(m.layers_, m._hidden(), float(m.dropout), 2)
            with torch.inference_mode():
                o = net(torch.from_numpy(((X - m.x_mean_) / m.x_scale_).astype(np.float32))).numpy()
            outs.append(o.mean(axis=1) * m.y_scale_ + m.y_mean_)
        np.testing.assert_allclose(mean[:, j], np.mean(outs, axis=0), rtol=1e-4)


def test_shipped_inverse_numpy_matches_torch_softmax_head():
    inv = load_inverse_model()
    Y = encode([36.0, 31.0], [105.0, 107.0], [["Ti", "Zr", "Be", "Fe"], ["Cu", "Zr"]])
    got = inv.predict(Y)
    perm = inv._permutation(Y)
    from pcids.models.inverse import _apply_perm

    Yp, _ = _apply_perm(Y, None, perm)
    X, mask = inv._inputs(Yp)
    outs = []
    for layers in inv.layers_:
        net = _torch_net(layers, tuple(inv.hidden_layer_sizes), float(inv.dropout), 7)
        with torch.inference_mode():
            outs.append(inv._apply_head(net(torch.from_numpy(X)), torch.as_tensor(mask)).numpy())
    P = np.mean(outs, axis=0) * mask
    expected = np.zeros_like(P)
    np.put_along_axis(expected, perm, P, axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got.sum(axis=1), 100.0, rtol=1e-5)


def test_linear_layers_reads_members_by_exact_prefix():
    rng = np.random.default_rng(1)
    a = [(rng.normal(size=(3, 4)).astype(np.float32), np.zeros(4, np.float32)), (rng.normal(size=(4, 2)).astype(np.float32), np.ones(2, np.float32))]
    b = [(W + 1, c) for W, c in a]
    state = {**sequential_state(a, 0.1, "member1."), **sequential_state(b, 0.1, "member10.")}
    got = linear_layers(state, "member1.")
    assert len(got) == 2 and all(np.array_equal(g[0], w[0]) for g, w in zip(got, a))


def test_gfa_numpy_tree_walk_equals_sklearn_trees_to_the_bit():
    """The shipped forests give the same sums by the numpy walk and by scikit-learn's compiled trees."""
    from pcids.models.gfa import load_gfa_model

    gfa = load_gfa_model()
    rng = np.random.default_rng(0)
    elements = ["Ti", "Zr", "Be", "Fe", "Cu"]
    A = rng.dirichlet(np.ones(len(elements)), size=3000)
    F = gfa._clf_features(gfa._features(A, elements)).astype(np.float32)
    for forest in (gfa.classifier_, gfa.glass_, gfa.regressor_):
        Fx = F if forest is not gfa.regressor_ else gfa._features(A, elements).astype(np.float32)
        walked = np.zeros(len(A))
        leaves = forest._walk(Fx)
        for t in range(leaves.shape[1]):
            walked += leaves[:, t]
        compiled = np.zeros(len(A))
        for tree in forest._sklearn_trees():
            compiled += tree.predict(Fx)[:, 0]
        np.testing.assert_array_equal(walked, compiled)
        assert np.ptp(walked) > 0.1 * leaves.shape[1] or forest is gfa.regressor_

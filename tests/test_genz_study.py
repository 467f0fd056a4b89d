"""Tests of the stacked training engine in dlcourse.genz_study (small networks, a few steps)."""

import numpy as np
import pytest

from dlcourse.genz import genz, genz_params
from dlcourse.genz_study import (
    NetworkConfig,
    StudyConfig,
    fit_baseline,
    fit_networks,
    make_tasks,
    run_study,
)

pytestmark = pytest.mark.slow  # trains networks: about 20 s of CPU time in all

SHORT = NetworkConfig(hidden=(8, 8), steps=60, steps_per_call=30)


def data(seed, n, d, family="gaussian"):
    rng = np.random.default_rng(seed)
    c, w = genz_params(family, d, rng)
    x = rng.uniform(size=(n, d))
    return x, genz(family, x, c, w)


def test_tasks_are_nested_and_reproducible():
    config = StudyConfig(
        families=("gaussian", "oscillatory"), dims=(2, 3), sizes=(5, 20), draws=2, n_test=50
    )
    tasks = make_tasks(config)
    assert len(tasks) == 2 * 2 * 2 * 2
    again = make_tasks(config)
    for a, b in zip(tasks, again):
        np.testing.assert_array_equal(a["x"], b["x"])
    small = [t for t in tasks if t["n"] == 5]
    large = [t for t in tasks if t["n"] == 20]
    for s, big in zip(small, large):
        np.testing.assert_array_equal(s["x"], big["x"][:5])  # nested samples
        assert s["x_test"].shape == (50, s["d"])


def test_stacked_networks_train_independently():
    # Network 0 is the same data set with the same initial weights in both stacks;
    # its neighbour differs. Summing the losses must leave network 0 untouched by it.
    a, b, c = data(1, 30, 3), data(2, 30, 3), data(3, 30, 3, "continuous")
    pred_ab, _ = fit_networks([a[0], b[0]], [a[1], b[1]], SHORT)
    pred_ac, _ = fit_networks([a[0], c[0]], [a[1], c[1]], SHORT)
    x_new = np.random.default_rng(9).uniform(size=(40, 3))
    first_ab = pred_ab([x_new, x_new])[0]
    first_ac = pred_ac([x_new, x_new])[0]
    np.testing.assert_allclose(first_ab, first_ac, rtol=1e-4, atol=1e-5)


def test_groups_padding_and_training_reduces_error():
    sets = [data(4, 10, 2), data(5, 40, 5), data(6, 40, 2)]
    config = NetworkConfig(hidden=(16, 16), steps=300, steps_per_call=100)
    predict, info = fit_networks([s[0] for s in sets], [s[1] for s in sets], config)
    assert info["networks"] == 3 and info["groups"] == 2 and info["steps"] == 300
    assert info["compiled_calls"] == 3
    # on the training points the fit beats the constant prediction clearly
    preds = predict([s[0] for s in sets])
    for (x, y), p in zip(sets, preds):
        assert p.shape == (len(x),)
        assert np.mean((p - y) ** 2) < 0.2 * np.var(y)
    # ragged prediction inputs within a group
    ragged = predict([sets[0][0][:3], sets[1][0][:7], sets[2][0][:2]])
    assert [len(r) for r in ragged] == [3, 7, 2]
    np.testing.assert_allclose(ragged[1], preds[1][:7], rtol=1e-5, atol=1e-6)


def test_baseline_interpolates_and_handles_few_points():
    x, y = data(7, 60, 2)
    np.testing.assert_allclose(fit_baseline(x, y)(x), y, atol=1e-3 * np.ptp(y))
    x, y = data(8, 10, 10)  # n <= d + 1: the fallback kernel
    assert fit_baseline(x, y)(x[:4]).shape == (4,)


@pytest.mark.filterwarnings("error")
def test_small_study_runs():
    config = StudyConfig(
        families=("oscillatory", "discontinuous"),
        dims=(2,),
        sizes=(10, 40),
        draws=2,
        n_test=100,
        network=SHORT,
    )
    results, timings, info = run_study(config)
    assert len(results) == 2 * 2 * 2 * 2
    assert set(timings) == {"data", "networks", "baseline", "evaluation", "total"}
    assert (results["max_abs"] >= results["mean_abs"]).all()
    assert (results["const_rel"] <= 1 + 1e-12).all()

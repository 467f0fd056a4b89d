"""Tests of dlcourse.growth: the Euler residual, the quadrature, the grid solver, the network."""

import numpy as np
import pytest
from scipy import integrate

from dlcourse.growth import (
    GrowthParams,
    closed_form_policy,
    closed_form_share,
    euler_residual,
    euler_residual_shocks,
    expectation,
    gauss_hermite,
    log10_euler_error,
    policy_accuracy,
    resources,
    sample_states,
    simulate,
    solve_capital,
    tensor_gauss_hermite,
    time_iteration,
)

FULL = GrowthParams()
PARTIAL = GrowthParams(delta=0.1)


def states(params, n=200, seed=0):
    k, log_z = sample_states(params, n, seed)
    return k, np.exp(log_z[:, 0])


def residual_by_integration(share, k, z, p):
    """The Euler residual at one state, with the expectation by adaptive quadrature (scipy)."""
    y = z * k**p.alpha + (1 - p.delta) * k
    s = share(k, z)
    c, k_next = (1 - s) * y, s * y

    def integrand(eps):
        z_next = np.exp(p.rho * np.log(z) + p.sigma * eps)
        y_next = z_next * k_next**p.alpha + (1 - p.delta) * k_next
        c_next = (1 - share(k_next, z_next)) * y_next
        gross = p.alpha * z_next * k_next ** (p.alpha - 1) + 1 - p.delta
        return gross / c_next * np.exp(-(eps**2) / 2) / np.sqrt(2 * np.pi)

    expected, _ = integrate.quad(integrand, -12, 12, epsabs=1e-13, epsrel=1e-12)
    return 1 - 1 / (p.beta * c * expected)


def test_closed_form_has_zero_residual():
    k, z = states(FULL)
    res = euler_residual(lambda k, z: closed_form_share(FULL, k, z), k, z, FULL)
    assert res.shape == k.shape
    assert np.max(np.abs(res)) < 1e-12
    k_next, c = closed_form_policy(FULL, k, z)
    np.testing.assert_allclose(k_next + c, resources(FULL, k, z))
    np.testing.assert_allclose(k_next / resources(FULL, k, z), FULL.alpha * FULL.beta)


def test_closed_form_needs_full_depreciation():
    with pytest.raises(ValueError):
        closed_form_share(PARTIAL, 1.0, 1.0)


def test_constant_share_residual_matches_formula():
    # With delta = 1 and a constant share s, c'/k' ratios cancel: EE = 1 - s / (alpha beta).
    k, z = states(FULL, 50)
    for s in (0.2, 0.3, 0.5, 0.9):
        res = euler_residual(lambda k, z, s=s: np.full(np.shape(k), s), k, z, FULL)
        np.testing.assert_allclose(res, 1 - s / (FULL.alpha * FULL.beta), rtol=1e-12)


@pytest.mark.parametrize("params", [FULL, PARTIAL], ids=["delta=1", "delta=0.1"])
def test_state_dependent_policy_residual_matches_integration(params):
    def share(k, z):
        return (
            0.3
            + 0.1 * np.tanh(np.log(z) / params.sd_log_z)
            + 0.05 * np.tanh(np.log(k / params.k_steady))
        )

    k, z = states(params, 6, seed=3)
    got = euler_residual(share, k, z, params, n_nodes=20)
    want = np.array([residual_by_integration(share, ki, zi, params) for ki, zi in zip(k, z)])
    assert np.min(np.abs(want)) > 1e-3  # a wrong policy: clearly non-zero
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10)


def test_residual_accepts_scalars_and_grids():
    share = lambda k, z: 0.4 + 0 * k * z  # noqa: E731
    scalar = euler_residual(share, FULL.k_steady, 1.0, FULL)
    assert np.shape(scalar) == ()
    kk, zz = np.meshgrid(np.linspace(0.1, 0.3, 4), np.linspace(0.9, 1.1, 3))
    assert euler_residual(share, kk, zz, FULL).shape == (3, 4)
    assert log10_euler_error(np.array([0.0, 1e-3]))[1] == pytest.approx(-3)


def test_gauss_hermite_against_exact_moments_and_monte_carlo():
    x, w = gauss_hermite(7)
    assert w.sum() == pytest.approx(1.0)
    assert np.sum(w * x**2) == pytest.approx(1.0)
    assert np.sum(w * x**4) == pytest.approx(3.0)
    z = np.array([0.8, 1.0, 1.2])
    # lognormal mean, exactly
    got = expectation(lambda zn: zn, z, FULL, n_nodes=7)
    np.testing.assert_allclose(got, np.exp(FULL.rho * np.log(z) + FULL.sigma**2 / 2), rtol=1e-12)
    # a nonlinear function against Monte Carlo with 2 million draws
    f = lambda zn: 1 / (0.2 + zn**3)  # noqa: E731
    eps = np.random.default_rng(1).normal(size=2_000_000)
    mc = [np.mean(f(np.exp(FULL.rho * np.log(zi) + FULL.sigma * eps))) for zi in z]
    np.testing.assert_allclose(expectation(f, z, FULL, n_nodes=7), mc, rtol=2e-4)


def test_tensor_rule_integrates_independent_normals():
    nodes, weights = tensor_gauss_hermite(6, 3)
    assert nodes.shape == (216, 3) and weights.shape == (216,)
    a = np.array([0.3, -0.2, 0.5])
    assert np.sum(weights * np.exp(nodes @ a)) == pytest.approx(np.exp(a @ a / 2), rel=1e-8)


def test_solve_capital_inverts_resources():
    rng = np.random.default_rng(0)
    for p in (FULL, PARTIAL):
        k = p.k_steady * rng.uniform(0.2, 3, 100)
        z = np.exp(rng.normal(0, 0.1, 100))
        np.testing.assert_allclose(solve_capital(p, resources(p, k, z), z), k, rtol=1e-10)


def test_time_iteration_recovers_closed_form():
    sol = time_iteration(FULL, n_k=20, n_z=5)
    assert sol.change < 1e-8 and sol.iterations < 100
    k, z = states(FULL)
    np.testing.assert_allclose(sol.share(k, z), FULL.alpha * FULL.beta, rtol=1e-6)


def test_time_iteration_partial_depreciation_is_accurate():
    sol = time_iteration(PARTIAL, n_k=40, n_z=9)
    k, z = states(PARTIAL, 300)
    err = log10_euler_error(euler_residual(sol.share, k, z, PARTIAL))
    assert np.median(err) < -3.5, np.median(err)
    coarse = time_iteration(PARTIAL, n_k=10, n_z=3)
    coarse_err = log10_euler_error(euler_residual(coarse.share, k, z, PARTIAL))
    assert np.median(coarse_err) > np.median(err) + 0.5  # accuracy comes from the grid


def test_more_shocks_same_aggregate_solution():
    # The components only matter through their sum, so the two-shock grid solution
    # must agree with the one-shock one evaluated at the aggregate.
    one = time_iteration(PARTIAL, n_k=30, n_z=9, n_nodes=3)
    two = time_iteration(PARTIAL.replace(shocks=2), n_k=30, n_z=9, n_nodes=3)
    assert two.points == 30 * 9 * 9
    rng = np.random.default_rng(2)
    sd = PARTIAL.replace(shocks=2).sigma_each / np.sqrt(1 - PARTIAL.rho**2)
    log_z = rng.normal(size=(100, 2)) * sd
    k = PARTIAL.k_steady * rng.uniform(0.8, 1.3, 100)
    np.testing.assert_allclose(
        two.share_shocks(k, log_z), one.share(k, np.exp(log_z.sum(-1))), rtol=2e-3
    )


def test_simulation_follows_the_policy():
    k, z, share = simulate(lambda k, z: closed_form_share(FULL, k, z), FULL, 200, seed=4)
    assert k.shape == z.shape == share.shape == (200,)
    np.testing.assert_allclose(k[1:], FULL.alpha * FULL.beta * z[:-1] * k[:-1] ** FULL.alpha)
    log_z = np.log(z)
    # AR(1) coefficient of log z, loosely
    rho_hat = np.sum(log_z[1:] * log_z[:-1]) / np.sum(log_z[:-1] ** 2)
    assert abs(rho_hat - FULL.rho) < 0.15


def test_policy_accuracy_tells_good_from_bad_policies():
    exact = policy_accuracy(lambda k, z: closed_form_share(FULL, k, z), FULL)
    assert exact["median_log10_ee"] < -14 and exact["max_rel_error"] < 1e-12
    assert exact["feasible"] and exact["states"] == 2000
    off = policy_accuracy(lambda k, z: np.full(np.shape(k), 0.9 * FULL.alpha * FULL.beta), FULL)
    # a constant share s has EE = 1 - s / (alpha beta) = 0.1 at every state
    assert off["median_log10_ee"] == pytest.approx(-1.0)
    assert off["max_rel_error"] == pytest.approx(0.1)
    bad = policy_accuracy(lambda k, z: np.where(k > FULL.k_steady, 1.0, 0.3), FULL)
    assert not bad["feasible"] and bad["p99_log10_ee"] == 3.0
    # partial depreciation: against a grid solution
    sol = time_iteration(PARTIAL, n_k=30, n_z=7)
    acc = policy_accuracy(sol.share, PARTIAL, reference=sol.share)
    assert acc["max_rel_error"] == 0 and acc["median_log10_ee"] < -3.5


def test_keras_residual_equals_numpy_residual():
    from dlcourse.growth import _keras

    ops = _keras().ops

    def share_np(k, log_z):
        return 0.3 + 0.1 * np.tanh(log_z[..., 0] * 5) + 0.02 * np.log(k)

    def share_ops(k, log_z):
        return 0.3 + 0.1 * ops.tanh(log_z[..., 0] * 5) + 0.02 * ops.log(k)

    k, log_z = sample_states(FULL, 64, seed=5)
    want = euler_residual_shocks(share_np, k, log_z, FULL)
    got = euler_residual_shocks(
        share_ops,
        ops.convert_to_tensor(k, "float32"),
        ops.convert_to_tensor(log_z, "float32"),
        FULL,
        xp=ops,
    )
    np.testing.assert_allclose(ops.convert_to_numpy(got), want, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_training_reduces_the_euler_error():
    from dlcourse.growth import train_policy

    policy, info = train_policy(FULL, seed=0, steps=300, steps_per_call=100)
    assert info["loss"][-1] < 0.05 * info["loss"][0]
    k, z = states(FULL, 300, seed=8)
    err = log10_euler_error(euler_residual(policy, k, z, FULL))
    assert np.median(err) < -1.5, np.median(err)
    share = policy(k, z)
    assert np.all((share > 0) & (share < 1))

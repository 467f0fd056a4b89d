from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 3
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_exact_and_constant_policies(euler_residual, np):
    params = {'alpha': 0.36, 'beta': 0.96, 'rho': 0.9, 'sigma': 0.04}
    k_ss = (0.36 * 0.96) ** (1 / 0.64)
    k = k_ss * np.array([0.6, 0.9, 1.0, 1.2, 1.5])
    z = np.array([0.9, 1.1, 1.0, 0.95, 1.05])
    exact = lambda kk, zz: np.full(np.shape(kk), 0.36 * 0.96)
    res = np.asarray(euler_residual(exact, k, z, params), dtype=float)
    assert res.shape == (5,), f'5 states: expected residuals of shape (5,), got {res.shape}'
    assert np.abs(res).max() < 1e-05, f'the exact policy s = alpha beta must give residuals of about 0, got {res.tolist()}'
    for s in (0.2, 0.5):
        const = lambda kk, zz, s=s: np.full(np.shape(kk), s)
        res = np.asarray(euler_residual(const, k, z, params), dtype=float)
        want = 1 - s / (0.36 * 0.96)
        assert np.allclose(res, want, rtol=0.0001, atol=1e-06), f'the constant share s = {s} must give 1 - s/(alpha beta) = {want:.6f} at every state, got {np.round(res, 6).tolist()}'

@test_case(points=None, hidden=False)
def test_state_dependent_policy(euler_residual, np):
    params = {'alpha': 0.3, 'beta': 0.95, 'rho': 0.8, 'sigma': 0.05}
    policy = lambda kk, zz: 0.285 * (1 + 0.5 * np.log(kk / 0.1713)) * zz ** 2
    k = np.array([0.1, 0.17, 0.25])
    z = np.array([1.0, 0.9, 1.12])
    want = [0.276331, 0.162804, -0.423601]
    res = np.asarray(euler_residual(policy, k, z, params), dtype=float)
    assert res.shape == (3,), f'3 states: expected shape (3,), got {res.shape}'
    assert np.allclose(res, want, rtol=0.0001, atol=1e-06), f'share 0.285 (1 + 0.5 log(k / 0.1713)) z^2 with alpha=0.3, beta=0.95, rho=0.8, sigma=0.05 at k={k.tolist()}, z={z.tolist()}: expected residuals {want}, got {np.round(res, 6).tolist()}'

@test_case(points=None, hidden=True)
def test_random_states_and_policies(euler_residual, np):

    def reference(policy, k, z, p):
        nodes = np.array([-2.8569700138728056, -1.355626179974266, 0.0, 1.355626179974266, 2.8569700138728056])
        weights = np.array([0.011257411327720691, 0.2220759220056126, 0.5333333333333333, 0.2220759220056126, 0.011257411327720691])
        a, b = (p['alpha'], p['beta'])
        y = z * k ** a
        s = policy(k, z)
        zn = np.exp(p['rho'] * np.log(z)[:, None] + p['sigma'] * nodes)
        kn = (s * y)[:, None] * np.ones_like(zn)
        cn = (1 - policy(kn, zn)) * zn * kn ** a
        return 1 - 1 / (b * (1 - s) * y * np.sum(weights * a * zn * kn ** (a - 1) / cn, axis=1))
    rng = np.random.default_rng(31415)
    for _ in range(6):
        p = {'alpha': rng.uniform(0.25, 0.4), 'beta': rng.uniform(0.9, 0.99), 'rho': rng.uniform(0.7, 0.97), 'sigma': rng.uniform(0.01, 0.08)}
        k_ss = (p['alpha'] * p['beta']) ** (1 / (1 - p['alpha']))
        n = int(rng.integers(1, 60))
        k = k_ss * rng.uniform(0.5, 1.6, size=n)
        z = np.exp(rng.normal(scale=0.15, size=n))
        ab = p['alpha'] * p['beta']
        slope_k, slope_z, level = (rng.uniform(-0.3, 0.3), rng.uniform(-1.5, 1.5), rng.uniform(0.7, 1.3))
        policies = {'the exact policy': lambda kk, zz, ab=ab: np.full(np.shape(kk), ab), 'a constant share': lambda kk, zz, ab=ab, level=level: np.full(np.shape(kk), level * ab), 'a perturbed policy': lambda kk, zz, ab=ab, k_ss=k_ss, sk=slope_k, sz=slope_z: ab * (kk / k_ss) ** sk * zz ** sz, 'a nonlinear policy': lambda kk, zz, ab=ab, k_ss=k_ss, sk=slope_k: ab * (1 + 0.3 * np.tanh(5 * sk * np.log(kk / k_ss)) + 0.2 * np.sin(8 * np.log(zz)))}
        for label, policy in policies.items():
            want = reference(policy, k, z, p)
            got = np.asarray(euler_residual(policy, k, z, p), dtype=float)
            assert got.shape == (n,), f'{label}, {n} states: shape {got.shape}, expected ({n},)'
            assert np.allclose(got, want, rtol=0.0001, atol=2e-06), f"{label}, calibration {dict(((key, round(v, 3)) for key, v in p.items()))}: the residuals differ from the Euler equation's"


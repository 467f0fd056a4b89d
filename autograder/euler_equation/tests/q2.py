from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 3
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_moments(expect_next, np):
    params = {'alpha': 0.36, 'beta': 0.96, 'rho': 0.9, 'sigma': 0.04}
    z = np.array([0.9, 1.0, 1.2])
    mean = 0.9 * np.log(z)
    for n_nodes in (2, 5):
        got = np.asarray(expect_next(lambda zn: np.ones_like(zn), z, params, n_nodes), dtype=float)
        assert got.shape == (3,), f'3 states, n_nodes={n_nodes}: expected shape (3,), got {got.shape}'
        assert np.allclose(got, 1.0), f'n_nodes={n_nodes}: E[1] must be 1 (weights that sum to one), got {got.tolist()}'
        got = np.asarray(expect_next(np.log, z, params, n_nodes), dtype=float)
        assert np.allclose(got, mean, atol=1e-06), f"n_nodes={n_nodes}: E[log z'] must be rho log z = {np.round(mean, 6).tolist()}, got {got.tolist()}"
    var = np.asarray(expect_next(lambda zn: np.log(zn) ** 2, z, params, 3), dtype=float)
    assert np.allclose(var, mean ** 2 + 0.04 ** 2, rtol=1e-05), f"n_nodes=3: E[(log z')^2] must be (rho log z)^2 + sigma^2 = {np.round(mean ** 2 + 0.0016, 8).tolist()}, got {var.tolist()}"

@test_case(points=None, hidden=False)
def test_number_of_nodes(expect_next, np):
    params = {'alpha': 0.3, 'beta': 0.95, 'rho': 0.0, 'sigma': 0.5}
    z = np.array([1.0, 2.0])
    fourth = lambda zn: (np.log(zn) / 0.5) ** 4
    got2 = np.asarray(expect_next(fourth, z, params, 2), dtype=float)
    assert np.allclose(got2, 1.0), f'n_nodes=2 (nodes eps = -1, +1): the rule gives E[eps^4] = 1, got {got2.tolist()}: use n_nodes nodes'
    got3 = np.asarray(expect_next(fourth, z, params, 3), dtype=float)
    assert np.allclose(got3, 3.0), f'n_nodes=3: the rule gives the exact E[eps^4] = 3, got {got3.tolist()}'
    lognormal = np.asarray(expect_next(lambda zn: zn, z, params, 10), dtype=float)
    assert np.allclose(lognormal, np.exp(0.125), rtol=1e-05), f"n_nodes=10, sigma=0.5: E[z'] must be exp(sigma^2 / 2) = {np.exp(0.125):.8f}, got {lognormal.tolist()}"
    default = np.asarray(expect_next(fourth, z, params), dtype=float)
    assert np.allclose(default, 3.0), 'the default n_nodes=5 must work'

@test_case(points=None, hidden=True)
def test_random_functions(expect_next, np):

    def reference(g, z, p, n_nodes):
        x, w = np.polynomial.hermite.hermgauss(n_nodes)
        zn = np.exp(p['rho'] * np.log(z)[:, None] + p['sigma'] * np.sqrt(2) * x)
        return np.sum(w / np.sqrt(np.pi) * g(zn), axis=1)
    rng = np.random.default_rng(27182)
    for n_nodes in (1, 2, 3, 4, 7, 12):
        p = {'alpha': 0.36, 'beta': 0.96, 'rho': rng.uniform(0.0, 0.99), 'sigma': rng.uniform(0.01, 0.6)}
        n = int(rng.integers(1, 50))
        z = np.exp(rng.normal(scale=0.3, size=n))
        a, b, c = rng.normal(size=3)
        functions = {"a polynomial in log z'": lambda zn, a=a, b=b, c=c: a + b * np.log(zn) + c * np.log(zn) ** 5, "a power of z'": lambda zn, b=b: zn ** b, 'a bounded function': lambda zn, c=c: np.tanh(3 * c * np.log(zn))}
        for label, g in functions.items():
            want = reference(g, z, p, n_nodes)
            got = np.asarray(expect_next(g, z, p, n_nodes), dtype=float)
            assert got.shape == (n,), f'{label}, {n} states, n_nodes={n_nodes}: shape {got.shape}, expected ({n},)'
            assert np.allclose(got, want, rtol=1e-05, atol=1e-07), f'{label}, n_nodes={n_nodes}: differs from the Gauss-Hermite rule with that many nodes'


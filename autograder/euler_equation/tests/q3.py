from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 4
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_trained_policy(train_policy, np):
    params = {'alpha': 0.3, 'beta': 0.95, 'rho': 0.85, 'sigma': 0.05}
    k_ss = (0.3 * 0.95) ** (1 / 0.7)
    policy = train_policy(params, seed=0)
    rng = np.random.default_rng(7)
    k = k_ss * rng.uniform(0.6, 1.5, size=2000)
    z = np.exp(0.05 / np.sqrt(1 - 0.85 ** 2) * np.clip(rng.normal(size=2000), -3, 3))
    share = np.asarray(policy(k, z), dtype=float)
    assert share.shape == (2000,), f'policy on 2000 states: expected shape (2000,), got {share.shape}'
    assert np.all((share > 0) & (share < 1)), 'every share must lie strictly between 0 and 1'
    nodes = np.array([-2.8569700138728056, -1.355626179974266, 0.0, 1.355626179974266, 2.8569700138728056])
    weights = np.array([0.011257411327720691, 0.2220759220056126, 0.5333333333333333, 0.2220759220056126, 0.011257411327720691])
    zn = np.exp(0.85 * np.log(z)[:, None] + 0.05 * nodes)
    kn = (share * z * k ** 0.3)[:, None] * np.ones_like(zn)
    share_next = np.asarray(policy(kn, zn), dtype=float)
    assert share_next.shape == (2000, 5), f'policy on states of shape (2000, 5): expected shares of that shape, got {share_next.shape}'
    residual = 1 - 1 / (0.95 * (1 - share) * z * k ** 0.3 * np.sum(weights * 0.3 * zn * kn ** (-0.7) / ((1 - share_next) * zn * kn ** 0.3), axis=1))
    median = float(np.median(np.log10(np.abs(residual) + 1e-16)))
    assert median < -2, f'alpha=0.3, beta=0.95, rho=0.85, sigma=0.05, seed=0: median log10 Euler error {median:.2f} on fresh states; it must be below -2'
    relative = float(np.median(np.abs(share / (0.3 * 0.95) - 1)))
    assert relative < 0.05, f'alpha=0.3, beta=0.95, rho=0.85, sigma=0.05, seed=0: the shares are off the exact alpha beta by {relative:.1%} (median); it must be below 5%: another solution of the Euler equation (train on a wider band of k)'

@test_case(points=None, hidden=True)
def test_accuracy_on_fresh_states(train_policy, np):
    nodes = np.array([-2.8569700138728056, -1.355626179974266, 0.0, 1.355626179974266, 2.8569700138728056])
    weights = np.array([0.011257411327720691, 0.2220759220056126, 0.5333333333333333, 0.2220759220056126, 0.011257411327720691])
    rng = np.random.default_rng(16180)
    p = {'alpha': 0.36, 'beta': 0.96, 'rho': 0.9, 'sigma': 0.04}
    a, b = (p['alpha'], p['beta'])
    seed = int(rng.integers(1, 1000))
    policy = train_policy(p, seed=seed)
    sd = p['sigma'] / np.sqrt(1 - p['rho'] ** 2)
    k = (a * b) ** (1 / (1 - a)) * rng.uniform(0.6, 1.5, size=2000)
    z = np.exp(sd * np.clip(rng.normal(size=2000), -3, 3))
    share = np.asarray(policy(k, z), dtype=float).reshape(-1)
    assert share.shape == (2000,) and np.all((share > 0) & (share < 1)), f'seed={seed}: the shares must have shape (2000,) and lie strictly between 0 and 1'
    zn = np.exp(p['rho'] * np.log(z)[:, None] + p['sigma'] * nodes)
    kn = (share * z * k ** a)[:, None] * np.ones_like(zn)
    cn = (1 - np.asarray(policy(kn, zn), dtype=float).reshape(kn.shape)) * zn * kn ** a
    residual = 1 - 1 / (b * (1 - share) * z * k ** a * np.sum(weights * a * zn * kn ** (a - 1) / cn, axis=1))
    median = float(np.median(np.log10(np.abs(residual) + 1e-16)))
    assert median < -2, f'the course calibration, seed={seed}: median log10 Euler error {median:.2f} on fresh states; it must be below -2'
    relative = float(np.median(np.abs(share / (a * b) - 1)))
    assert relative < 0.05, f'the course calibration, seed={seed}: the shares are off the exact alpha beta by {relative:.1%} (median); it must be below 5%'


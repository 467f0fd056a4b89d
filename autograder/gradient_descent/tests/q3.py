from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_three_steps(batch_gd, np):
    X = np.array([[1.0, -1.0], [1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    y = np.array([0.0, 1.0, 1.0, 3.0])
    theta_hat = np.zeros(2)
    want_costs = []
    for _ in range(3):
        theta_hat = theta_hat - 0.2 * X.T @ (X @ theta_hat - y) / 4
        r = X @ theta_hat - y
        want_costs.append(r @ r / 8)
    theta, costs = batch_gd(X, y, np.zeros(2), 0.2, 3)
    theta, costs = (np.asarray(theta, dtype=float), np.asarray(costs, dtype=float))
    assert theta.shape == (2,), f'theta should have shape (2,), got {theta.shape}'
    assert costs.shape == (3,), f'costs should have length n_iters = 3, got shape {costs.shape}'
    assert np.allclose(theta, theta_hat, rtol=1e-05), f'theta after 3 steps should be {np.round(theta_hat, 6).tolist()}, got {theta.tolist()}'
    assert np.allclose(costs, want_costs, rtol=1e-05), f'costs should be {np.round(want_costs, 6).tolist()} (each after its update), got {costs.tolist()}'

@test_case(points=None, hidden=False)
def test_one_step(batch_gd, np):
    X = np.array([[1.0, 1.0], [1.0, 3.0]])
    y = np.array([1.0, 2.0])
    theta, costs = batch_gd(X, y, np.array([0.5, 0.0]), 0.1, 1)
    theta, costs = (np.asarray(theta, dtype=float), np.asarray(costs, dtype=float))
    want = np.array([0.5, 0.0]) - 0.1 * X.T @ (X @ np.array([0.5, 0.0]) - y) / 2
    r = X @ want - y
    assert theta.shape == (2,) and np.allclose(theta, want, rtol=1e-05), f'n_iters=1: theta should be {want.tolist()}, got {theta.tolist()}'
    assert costs.shape == (1,) and np.allclose(costs, r @ r / 4, rtol=1e-05), f'n_iters=1: costs should be [{r @ r / 4:.6f}], the cost after the step, got {costs.tolist()}'

@test_case(points=None, hidden=True)
def test_random_problems(batch_gd, np):
    rng = np.random.default_rng(2718)
    for m, p, lr, n_iters in [(int(rng.integers(30, 70)), 2, 0.1, 40), (13, 4, 0.05, 25), (30, 1, 0.5, 1), (7, 0, 0.3, 9)]:
        X = np.column_stack([np.ones(m), rng.normal(size=(m, p))])
        y = X @ rng.normal(size=p + 1) + 0.5 * rng.normal(size=m)
        theta0 = rng.normal(size=p + 1)
        theta_hat, want = (theta0.copy(), [])
        for _ in range(n_iters):
            theta_hat = theta_hat - lr * X.T @ (X @ theta_hat - y) / m
            r = X @ theta_hat - y
            want.append(r @ r / (2 * m))
        theta, costs = batch_gd(X, y, theta0.copy(), lr, n_iters)
        theta, costs = (np.asarray(theta, dtype=float), np.asarray(costs, dtype=float))
        label = f'm={m}, p={p}, lr={lr}, n_iters={n_iters}'
        assert theta.shape == (p + 1,), f'{label}: theta shape {theta.shape}, expected {(p + 1,)}'
        assert costs.shape == (n_iters,), f'{label}: costs shape {costs.shape}, expected ({n_iters},)'
        assert np.allclose(theta, theta_hat, rtol=1e-05, atol=1e-08), f'{label}: theta differs from batch gradient descent'
        assert np.allclose(costs, want, rtol=1e-05, atol=1e-10), f'{label}: costs differ (costs[k] is the cost after update k + 1)'


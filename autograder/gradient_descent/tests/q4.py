from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 3
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_small_run(minibatch_sgd, np):
    data = np.random.default_rng(5)
    m = 10
    X = np.column_stack([np.ones(m), data.normal(size=m)])
    y = 2.0 - X[:, 1] + 0.1 * data.normal(size=m)
    order = np.random.default_rng(0)
    theta_hat, want = (np.zeros(2), [])
    for _ in range(3):
        perm = order.permutation(m)
        for start in range(0, m, 4):
            rows = perm[start:start + 4]
            theta_hat = theta_hat - 0.1 * X[rows].T @ (X[rows] @ theta_hat - y[rows]) / len(rows)
        r = X @ theta_hat - y
        want.append(r @ r / (2 * m))
    theta, costs = minibatch_sgd(X, y, np.zeros(2), 0.1, 3, 4, np.random.default_rng(0))
    theta, costs = (np.asarray(theta, dtype=float), np.asarray(costs, dtype=float))
    assert costs.shape == (3,), f'costs should have one entry per epoch, shape (3,), got {costs.shape}'
    assert np.allclose(theta, theta_hat, rtol=1e-06), f'theta after 3 epochs should be {theta_hat}, got {theta}'
    assert np.allclose(costs, want, rtol=1e-06), f'costs should be {np.round(want, 6)}, got {costs}'

@test_case(points=None, hidden=True)
def test_random_problems(minibatch_sgd, np):

    def reference(X, y, theta0, lr, n_epochs, batch_size, seed):
        rng = np.random.default_rng(seed)
        m = len(y)
        theta, costs = (np.array(theta0, dtype=float), [])
        for _ in range(n_epochs):
            perm = rng.permutation(m)
            for start in range(0, m, batch_size):
                rows = perm[start:start + batch_size]
                theta = theta - lr * X[rows].T @ (X[rows] @ theta - y[rows]) / len(rows)
            r = X @ theta - y
            costs.append(r @ r / (2 * m))
        return (theta, np.array(costs))
    data = np.random.default_rng(31415)
    for m, p, lr, n_epochs, batch_size, seed in [(23, 2, 0.05, 4, 5, 11), (17, 1, 0.02, 3, 1, 12), (40, 3, 0.1, 5, 40, 13), (9, 2, 0.1, 2, 9, 14), (31, 2, 0.05, 3, 8, 15)]:
        X = np.column_stack([np.ones(m), data.normal(size=(m, p))])
        y = X @ data.normal(size=p + 1) + 0.3 * data.normal(size=m)
        theta0 = data.normal(size=p + 1)
        want_theta, want_costs = reference(X, y, theta0, lr, n_epochs, batch_size, seed)
        theta, costs = minibatch_sgd(X, y, theta0.copy(), lr, n_epochs, batch_size, np.random.default_rng(seed))
        theta, costs = (np.asarray(theta, dtype=float), np.asarray(costs, dtype=float))
        label = f'm={m}, batch_size={batch_size}, n_epochs={n_epochs}'
        assert costs.shape == (n_epochs,), f'{label}: costs shape {costs.shape}'
        assert np.allclose(theta, want_theta, rtol=1e-05, atol=1e-08), f'{label}: theta differs'
        assert np.allclose(costs, want_costs, rtol=1e-05, atol=1e-10), f'{label}: costs differ'


from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 3
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_full_batch_is_batch_gd(minibatch_sgd, np):
    rng = np.random.default_rng(5)
    m = 12
    X = np.column_stack([np.ones(m), rng.normal(size=(m, 2))])
    y = X @ np.array([1.0, -1.0, 0.5]) + 0.1 * rng.normal(size=m)
    theta_hat, want = (np.zeros(3), [])
    for _ in range(4):
        theta_hat = theta_hat - 0.1 * X.T @ (X @ theta_hat - y) / m
        r = X @ theta_hat - y
        want.append(r @ r / (2 * m))
    theta, costs = minibatch_sgd(X, y, np.zeros(3), 0.1, 4, m, np.random.default_rng(0))
    theta, costs = (np.asarray(theta, dtype=float), np.asarray(costs, dtype=float))
    assert costs.shape == (4,), f'batch_size=m, 4 epochs: costs should have shape (4,), got {costs.shape}'
    assert np.allclose(theta, theta_hat, rtol=1e-05), f'batch_size=m must take the steps of batch_gd: theta should be {np.round(theta_hat, 6).tolist()}, got {theta.tolist()}'
    assert np.allclose(costs, want, rtol=1e-05), f'batch_size=m: costs should be {np.round(want, 6).tolist()} (cost on the full data after each epoch), got {costs.tolist()}'

@test_case(points=None, hidden=False)
def test_identical_rows_count_the_steps(minibatch_sgd, np):
    x_row, y_row, lr = (np.array([1.0, 0.5]), 2.0, 0.2)
    X, y = (np.tile(x_row, (10, 1)), np.full(10, y_row))
    theta_hat, want = (np.zeros(2), [])
    for _ in range(2):
        for _ in range(3):
            theta_hat = theta_hat - lr * x_row * (x_row @ theta_hat - y_row)
        want.append((x_row @ theta_hat - y_row) ** 2 / 2)
    theta, costs = minibatch_sgd(X, y, np.zeros(2), lr, 2, 4, np.random.default_rng(1))
    theta, costs = (np.asarray(theta, dtype=float), np.asarray(costs, dtype=float))
    assert costs.shape == (2,), f'10 identical rows, batch_size=4, 2 epochs: costs should have shape (2,), got {costs.shape}'
    assert np.allclose(theta, theta_hat, rtol=1e-05), f"10 identical rows, batch_size=4: 3 steps per epoch (keep the last batch of 2; each step uses the batch's mean gradient) give theta = {np.round(theta_hat, 6).tolist()}, got {theta.tolist()}"
    assert np.allclose(costs, want, rtol=1e-05), f'10 identical rows: costs after each epoch should be {np.round(want, 6).tolist()}, got {costs.tolist()}'

@test_case(points=None, hidden=False)
def test_each_row_once_per_epoch(minibatch_sgd, np):

    def epoch_orders(X, y, theta0, lr, batch_size, costs, theta, label):
        """The sequences of epoch orders that explain the returned costs and theta.

        Each epoch must use every row exactly once: walk some order of the rows in consecutive
        batches of batch_size (the last may be smaller), one mean-gradient step per batch. For
        each epoch try every order and keep those whose cost after the epoch is costs[e]."""
        import itertools
        m = len(y)
        paths = [(np.asarray(theta0, dtype=float), ())]
        for e, cost in enumerate(costs):
            found = {}
            for t0, orders in paths:
                for perm in itertools.permutations(range(m)):
                    batches = [list(perm[s:s + batch_size]) for s in range(0, m, batch_size)]
                    key = orders + (tuple((frozenset(b) for b in batches)),)
                    if key in found:
                        continue
                    t = t0
                    for rows in batches:
                        t = t - lr * X[rows].T @ (X[rows] @ t - y[rows]) / len(rows)
                    r = X @ t - y
                    if abs(r @ r / (2 * m) - cost) <= 1e-05 * abs(cost) + 1e-09:
                        found[key] = (t, orders + (perm,))
            assert found, f'{label}: no pass through the data that uses each row exactly once, in consecutive batches of {batch_size} with one mean-gradient step each, explains costs[{e}] = {float(cost):.6g}'
            paths = list(found.values())[:50]
        matching = [orders for t, orders in paths if np.allclose(t, theta, rtol=1e-05, atol=1e-07)]
        assert matching, f'{label}: the costs fit a valid run, but the returned theta is not where that run ends'
        return matching[0]

    def problem(rng, m, p):
        X = np.column_stack([np.ones(m), rng.normal(size=(m, p))])
        y = X @ rng.normal(size=p + 1) + 0.5 * rng.normal(size=m)
        return (X, y, rng.normal(size=p + 1))

    def run(X, y, theta0, lr, n_epochs, batch_size, rng):
        theta, costs = minibatch_sgd(X, y, theta0.copy(), lr, n_epochs, batch_size, rng)
        theta, costs = (np.asarray(theta, dtype=float), np.asarray(costs, dtype=float))
        label = f'm={len(y)}, batch_size={batch_size}, n_epochs={n_epochs}'
        assert theta.shape == theta0.shape, f'{label}: theta shape {theta.shape}, expected {theta0.shape}'
        assert costs.shape == (n_epochs,), f'{label}: costs should have one entry per epoch, shape ({n_epochs},), got {costs.shape}'
        return (theta, costs, label)
    data = np.random.default_rng(2)
    X, y, theta0 = problem(data, 5, 2)
    theta, costs, label = run(X, y, theta0, 0.3, 3, 2, np.random.default_rng(3))
    epoch_orders(X, y, theta0, 0.3, 2, costs, theta, label)
    X, y, theta0 = problem(data, 3, 1)
    orders, runs = ([], set())
    for seed in range(3):
        theta, costs, label = run(X, y, theta0, 0.3, 8, 1, np.random.default_rng(seed))
        orders.append(epoch_orders(X, y, theta0, 0.3, 1, costs, theta, label))
        runs.add(tuple(np.round(costs, 8)))
    assert len(runs) > 1, 'rng seeds 0, 1 and 2 all gave the same run: draw the orders from the rng you are given'
    assert all((len(set(run_orders)) > 1 for run_orders in orders)), 'm=3, batch_size=1, 8 epochs: every epoch used the same order of the rows; draw a fresh order at the start of each epoch'
    first, again = (run(X, y, theta0, 0.3, 4, 1, np.random.default_rng(7))[:2], run(X, y, theta0, 0.3, 4, 1, np.random.default_rng(7))[:2])
    assert np.allclose(first[0], again[0]) and np.allclose(first[1], again[1]), 'the same rng seed must give the same result: draw the orders from rng'

@test_case(points=None, hidden=True)
def test_random_problems(minibatch_sgd, np):

    def epoch_orders(X, y, theta0, lr, batch_size, costs, theta, label):
        """The sequences of epoch orders that explain the returned costs and theta.

        Each epoch must use every row exactly once: walk some order of the rows in consecutive
        batches of batch_size (the last may be smaller), one mean-gradient step per batch. For
        each epoch try every order and keep those whose cost after the epoch is costs[e]."""
        import itertools
        m = len(y)
        paths = [(np.asarray(theta0, dtype=float), ())]
        for e, cost in enumerate(costs):
            found = {}
            for t0, orders in paths:
                for perm in itertools.permutations(range(m)):
                    batches = [list(perm[s:s + batch_size]) for s in range(0, m, batch_size)]
                    key = orders + (tuple((frozenset(b) for b in batches)),)
                    if key in found:
                        continue
                    t = t0
                    for rows in batches:
                        t = t - lr * X[rows].T @ (X[rows] @ t - y[rows]) / len(rows)
                    r = X @ t - y
                    if abs(r @ r / (2 * m) - cost) <= 1e-05 * abs(cost) + 1e-09:
                        found[key] = (t, orders + (perm,))
            assert found, f'{label}: no pass through the data that uses each row exactly once, in consecutive batches of {batch_size} with one mean-gradient step each, explains costs[{e}] = {float(cost):.6g}'
            paths = list(found.values())[:50]
        matching = [orders for t, orders in paths if np.allclose(t, theta, rtol=1e-05, atol=1e-07)]
        assert matching, f'{label}: the costs fit a valid run, but the returned theta is not where that run ends'
        return matching[0]

    def problem(rng, m, p):
        X = np.column_stack([np.ones(m), rng.normal(size=(m, p))])
        y = X @ rng.normal(size=p + 1) + 0.5 * rng.normal(size=m)
        return (X, y, rng.normal(size=p + 1))

    def run(X, y, theta0, lr, n_epochs, batch_size, rng):
        theta, costs = minibatch_sgd(X, y, theta0.copy(), lr, n_epochs, batch_size, rng)
        theta, costs = (np.asarray(theta, dtype=float), np.asarray(costs, dtype=float))
        label = f'm={len(y)}, batch_size={batch_size}, n_epochs={n_epochs}'
        assert theta.shape == theta0.shape, f'{label}: theta shape {theta.shape}, expected {theta0.shape}'
        assert costs.shape == (n_epochs,), f'{label}: costs should have one entry per epoch, shape ({n_epochs},), got {costs.shape}'
        return (theta, costs, label)
    data = np.random.default_rng(31415)
    for m, p, lr, n_epochs, batch_size in [(6, 2, 0.2, 3, 4), (4, 1, 0.3, 4, 1), (5, 2, 0.2, 3, 5), (6, 1, 0.2, 2, 3), (1, 1, 0.2, 3, 1)]:
        X, y, theta0 = problem(data, m, p)
        theta, costs, label = run(X, y, theta0, lr, n_epochs, batch_size, np.random.default_rng(int(data.integers(1 << 30))))
        epoch_orders(X, y, theta0, lr, batch_size, costs, theta, label)
    m = int(data.integers(30, 60))
    X, y, theta0 = problem(data, m, 3)
    theta_hat, want = (theta0.copy(), [])
    for _ in range(5):
        theta_hat = theta_hat - 0.1 * X.T @ (X @ theta_hat - y) / m
        r = X @ theta_hat - y
        want.append(r @ r / (2 * m))
    theta, costs, label = run(X, y, theta0, 0.1, 5, m, np.random.default_rng(0))
    assert np.allclose(theta, theta_hat, rtol=1e-05, atol=1e-08) and np.allclose(costs, want, rtol=1e-05), f'{label}: batch_size=m must match batch gradient descent'
    x_row, y_row = (data.normal(size=3) / 2, float(data.normal()))
    theta_hat, want = (np.zeros(3), [])
    for _ in range(3):
        for _ in range(3):
            theta_hat = theta_hat - 0.2 * x_row * (x_row @ theta_hat - y_row)
        want.append((x_row @ theta_hat - y_row) ** 2 / 2)
    theta, costs, label = run(np.tile(x_row, (7, 1)), np.full(7, y_row), np.zeros(3), 0.2, 3, 3, np.random.default_rng(1))
    assert np.allclose(theta, theta_hat, rtol=1e-05, atol=1e-09) and np.allclose(costs, want, rtol=1e-05, atol=1e-12), f'{label}, identical rows: expected 3 mean-gradient steps per epoch'

@test_case(points=None, hidden=True)
def test_orders_are_uniform_and_fresh(minibatch_sgd, np):

    def epoch_orders(X, y, theta0, lr, batch_size, costs, theta, label):
        """The sequences of epoch orders that explain the returned costs and theta.

        Each epoch must use every row exactly once: walk some order of the rows in consecutive
        batches of batch_size (the last may be smaller), one mean-gradient step per batch. For
        each epoch try every order and keep those whose cost after the epoch is costs[e]."""
        import itertools
        m = len(y)
        paths = [(np.asarray(theta0, dtype=float), ())]
        for e, cost in enumerate(costs):
            found = {}
            for t0, orders in paths:
                for perm in itertools.permutations(range(m)):
                    batches = [list(perm[s:s + batch_size]) for s in range(0, m, batch_size)]
                    key = orders + (tuple((frozenset(b) for b in batches)),)
                    if key in found:
                        continue
                    t = t0
                    for rows in batches:
                        t = t - lr * X[rows].T @ (X[rows] @ t - y[rows]) / len(rows)
                    r = X @ t - y
                    if abs(r @ r / (2 * m) - cost) <= 1e-05 * abs(cost) + 1e-09:
                        found[key] = (t, orders + (perm,))
            assert found, f'{label}: no pass through the data that uses each row exactly once, in consecutive batches of {batch_size} with one mean-gradient step each, explains costs[{e}] = {float(cost):.6g}'
            paths = list(found.values())[:50]
        matching = [orders for t, orders in paths if np.allclose(t, theta, rtol=1e-05, atol=1e-07)]
        assert matching, f'{label}: the costs fit a valid run, but the returned theta is not where that run ends'
        return matching[0]

    def problem(rng, m, p):
        X = np.column_stack([np.ones(m), rng.normal(size=(m, p))])
        y = X @ rng.normal(size=p + 1) + 0.5 * rng.normal(size=m)
        return (X, y, rng.normal(size=p + 1))

    def run(X, y, theta0, lr, n_epochs, batch_size, rng):
        theta, costs = minibatch_sgd(X, y, theta0.copy(), lr, n_epochs, batch_size, rng)
        theta, costs = (np.asarray(theta, dtype=float), np.asarray(costs, dtype=float))
        label = f'm={len(y)}, batch_size={batch_size}, n_epochs={n_epochs}'
        assert theta.shape == theta0.shape, f'{label}: theta shape {theta.shape}, expected {theta0.shape}'
        assert costs.shape == (n_epochs,), f'{label}: costs should have one entry per epoch, shape ({n_epochs},), got {costs.shape}'
        return (theta, costs, label)
    import itertools
    data = np.random.default_rng(11)
    X, y, theta0 = problem(data, 3, 1)
    runs = []
    for seed in range(20):
        theta, costs, label = run(X, y, theta0, 0.3, 6, 1, np.random.default_rng(1000 + seed))
        runs.append(epoch_orders(X, y, theta0, 0.3, 1, costs, theta, label))
    orders = [order for run_orders in runs for order in run_orders]
    counts = np.array([orders.count(perm) for perm in itertools.permutations(range(3))])
    expected = len(orders) / 6
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert counts.min() > 0 and chi2 < 35, f'over 120 epochs the 6 orders of 3 rows occurred {counts.tolist()} times; each order should be equally likely'
    repeats = sum((a == b for run_orders in runs for a, b in zip(run_orders, run_orders[1:])))
    assert repeats < 50, f"{repeats} of 100 epochs repeated the previous epoch's order (about 17 expected): reshuffle at every epoch"
    results = {tuple(np.round(run(X, y, theta0, 0.3, 2, 1, np.random.default_rng(seed))[1], 8)) for seed in range(6)}
    assert len(results) > 1, 'different rng seeds all gave the same run: draw the orders from the rng you are given'


from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_small_example(linreg_cost, linreg_grad, np):
    X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    y = np.array([1.0, 2.0, 2.0])
    theta = np.array([1.0, 2.0])
    cost = float(np.asarray(linreg_cost(theta, X, y)))
    assert abs(cost - 10 / 6) < 1e-09, f'linreg_cost: expected 10/6 = 1.66667, got {cost}'
    grad = np.asarray(linreg_grad(theta, X, y), dtype=float)
    assert grad.shape == (2,), f'linreg_grad must return the shape of theta, (2,), got {grad.shape}'
    assert np.allclose(grad, [4 / 3, 7 / 3]), f'linreg_grad: expected [1.33333, 2.33333], got {grad}'

@test_case(points=None, hidden=True)
def test_random_problems(linreg_cost, linreg_grad, np):
    rng = np.random.default_rng(77)
    for m, p in [(37, 3), (5, 1), (120, 6)]:
        X = np.column_stack([np.ones(m), rng.normal(size=(m, p))])
        y = rng.normal(size=m) * 3 + 1
        theta = rng.normal(size=p + 1)
        r = X @ theta - y
        cost = float(np.asarray(linreg_cost(theta, X, y)))
        assert np.isclose(cost, r @ r / (2 * m), rtol=1e-06), f'linreg_cost wrong for m={m}'
        grad = np.asarray(linreg_grad(theta, X, y), dtype=float)
        assert grad.shape == (p + 1,), f'linreg_grad shape {grad.shape}, expected {(p + 1,)}'
        assert np.allclose(grad, X.T @ r / m, rtol=1e-06, atol=1e-09), f'linreg_grad wrong for m={m}'
        h = 1e-06
        for j in range(p + 1):
            e = np.zeros(p + 1)
            e[j] = h
            slope = (float(np.asarray(linreg_cost(theta + e, X, y))) - float(np.asarray(linreg_cost(theta - e, X, y)))) / (2 * h)
            assert abs(slope - grad[j]) < 0.0001 * (1 + abs(slope)), 'linreg_grad is not the gradient of linreg_cost'


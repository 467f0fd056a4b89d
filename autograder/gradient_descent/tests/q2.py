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
    cost = np.asarray(linreg_cost(theta, X, y), dtype=float)
    assert cost.size == 1, f'linreg_cost must return one number, got an array of shape {cost.shape}'
    assert abs(float(cost) - 10 / 6) < 1e-06, f'linreg_cost, m=3 example: expected 10/6 = 1.66667 (mind 1/(2m)), got {float(cost)}'
    grad = np.asarray(linreg_grad(theta, X, y), dtype=float)
    assert grad.shape == (2,), f'linreg_grad must return the shape of theta, (2,), got {grad.shape}'
    assert np.allclose(grad, [4 / 3, 7 / 3], rtol=1e-06), f'linreg_grad, m=3 example: expected [1.33333, 2.33333] (mind 1/m), got {grad.tolist()}'

@test_case(points=None, hidden=False)
def test_gradient_of_the_cost(linreg_cost, linreg_grad, np):
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(8), rng.normal(size=(8, 2))])
    y = rng.normal(size=8)
    theta = rng.normal(size=3)
    grad = np.asarray(linreg_grad(theta, X, y), dtype=float)
    assert grad.shape == (3,), f'linreg_grad must return the shape of theta, (3,), got {grad.shape}'
    h = 1e-05
    for j in range(3):
        e = h * np.eye(3)[j]
        slope = (float(np.asarray(linreg_cost(theta + e, X, y))) - float(np.asarray(linreg_cost(theta - e, X, y)))) / (2 * h)
        assert abs(slope - grad[j]) < 0.0001 * (1 + abs(slope)), f'coordinate {j}: linreg_grad gives {grad[j]:.6f}, the slope of linreg_cost is {slope:.6f}'

@test_case(points=None, hidden=True)
def test_random_problems(linreg_cost, linreg_grad, np):
    rng = np.random.default_rng(77)
    for m, p in [(int(rng.integers(20, 60)), 3), (5, 1), (int(rng.integers(80, 150)), 6), (1, 0)]:
        X = np.column_stack([np.ones(m), rng.normal(size=(m, p))])
        y = rng.normal(size=m) * 3 + 1
        theta = rng.normal(size=p + 1)
        r = X @ theta - y
        cost = np.asarray(linreg_cost(theta, X, y), dtype=float)
        assert cost.size == 1 and np.isclose(float(cost), r @ r / (2 * m), rtol=1e-05), f'm={m}, p={p}: linreg_cost differs from (1/2m) |X theta - y|^2'
        grad = np.asarray(linreg_grad(theta, X, y), dtype=float)
        assert grad.shape == (p + 1,), f'm={m}, p={p}: linreg_grad shape {grad.shape}, expected {(p + 1,)}'
        assert np.allclose(grad, X.T @ r / m, rtol=1e-05, atol=1e-08), f'm={m}, p={p}: linreg_grad differs from (1/m) X^T (X theta - y)'


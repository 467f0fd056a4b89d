from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 3
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_example_path(gradient_descent, np):
    with np.errstate(over='ignore', invalid='ignore'):
        path = np.asarray(gradient_descent(lambda x: 3 * x ** 2 - 4 * x, 2.0, 0.1, max_iter=200), dtype=float)
    assert path.shape == (17,), f"f'(x) = 3x^2 - 4x from x0 = 2.0, lr = 0.1: expected 17 iterates in an array of shape (17,), got shape {path.shape}"
    assert path[0] == 2.0, f'the first iterate must be x0 = 2.0, got {float(path[0])}'
    assert abs(path[1] - 1.6) < 1e-06, f'the first step should go from 2.0 to 1.6, got {float(path[1])}'
    assert abs(path[-1] - 1.33343) < 1e-05, f'the last iterate should be about 1.33343, got {float(path[-1])}'

@test_case(points=None, hidden=False)
def test_vector_start(gradient_descent, np):
    scale = np.array([2.0, 1.0])
    path = np.asarray(gradient_descent(lambda x: scale * x, np.array([1.0, 1.0]), 0.5, tol=1e-06, max_iter=200), dtype=float)
    assert path.ndim == 2 and path.shape[1] == 2, f'vector x0 of length 2: expected shape (k + 1, 2), got {path.shape}'
    assert np.allclose(path[0], [1.0, 1.0]), f'vector x0: the first row must be x0 = [1, 1], got {path[0].tolist()}'
    assert np.allclose(path[1], [0.0, 0.5]), f'vector x0: the first step should reach [0, 0.5], got {path[1].tolist()}'
    assert path.shape[0] == 21, f'vector x0: expected 21 iterates (stop after the first step of size <= tol), got {path.shape[0]}'
    path = np.asarray(gradient_descent(lambda x: x, np.ones(2), 0.1, tol=0.001, max_iter=500), dtype=float)
    assert path.shape == (49, 2), f'vector x0, grad(x) = x from [1, 1], lr = 0.1, tol = 1e-3: the step size is the Euclidean norm np.linalg.norm(x_new - x), which gives 49 iterates; got {path.shape[0]}'

@test_case(points=None, hidden=False)
def test_stopping_rules(gradient_descent, np):
    path = np.asarray(gradient_descent(lambda x: 1.0, 0.0, 0.25, tol=0.0001, max_iter=5), dtype=float)
    assert path.shape == (6,), f'steps that never shrink, max_iter=5: expected x0 and 5 steps, shape (6,), got {path.shape}'
    assert np.allclose(path, -0.25 * np.arange(6)), f'steps that never shrink: expected 0, -0.25, ..., -1.25, got {path.tolist()}'
    path = np.asarray(gradient_descent(lambda x: 1.0, 0.0, 0.5, tol=0.5, max_iter=10), dtype=float)
    assert path.shape == (2,), f'a first step of size exactly tol = 0.5 must stop the run (size <= tol): expected shape (2,), got {path.shape}'
    path = np.asarray(gradient_descent(lambda x: 1.0, 3.0, 0.5, tol=0.1, max_iter=1), dtype=float)
    assert path.shape == (2,), f'max_iter=1: expected x0 and one step, shape (2,), got {path.shape}'

@test_case(points=None, hidden=True)
def test_random_problems(gradient_descent, np):

    def reference(grad, x0, lr, tol, max_iter):
        x = np.asarray(x0, dtype=float)
        out = [x]
        for _ in range(max_iter):
            x_new = x - lr * np.asarray(grad(x), dtype=float)
            out.append(x_new)
            if np.linalg.norm(x_new - x) <= tol:
                break
            x = x_new
        return np.array(out)
    rng = np.random.default_rng(1234)
    cases = []
    for d in (1, 2, 3, 5):
        q = rng.normal(size=(d, d))
        a = q @ q.T + d * np.eye(d)
        b = rng.normal(size=d)
        lr = rng.uniform(0.2, 1.5) / np.linalg.eigvalsh(a).max()
        grad = lambda x, a=a, b=b: a @ x - b
        cases.append((f'quadratic bowl in d={d}', grad, rng.normal(size=d), lr, 10 ** rng.uniform(-7, -3), 500))
        cases.append((f'quadratic bowl in d={d}, stopped by max_iter', grad, rng.normal(size=d), lr, 1e-12, int(rng.integers(1, 9))))
    centre = rng.uniform(-2, 2)
    cases.append(('scalar quadratic', lambda x: 2 * (x - centre), float(rng.uniform(-3, 3)), 0.3, 1e-08, 300))
    cases.append(('scalar quadratic, stopped by max_iter', lambda x: 2 * (x - centre), 4.0, 0.001, 1e-09, 7))
    cases.append(('the cubic x^3 - 2x^2 + 2', lambda x: 3 * x ** 2 - 4 * x, float(rng.uniform(1.0, 2.5)), 0.05, 0.001, 300))
    for label, grad, x0, lr, tol, max_iter in cases:
        want = reference(grad, x0, lr, tol, max_iter)
        with np.errstate(over='ignore', invalid='ignore'):
            got = np.asarray(gradient_descent(grad, x0, lr, tol=tol, max_iter=max_iter), dtype=float)
        assert got.shape == want.shape, f'{label} (max_iter={max_iter}): shape {got.shape}, expected {want.shape}'
        assert np.allclose(got, want, rtol=1e-05, atol=1e-07), f'{label}: the iterates differ from gradient descent'


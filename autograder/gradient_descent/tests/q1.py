from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 3
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_example_path(gradient_descent, np):
    with np.errstate(over='ignore', invalid='ignore'):
        path = np.asarray(gradient_descent(lambda x: 3 * x ** 2 - 4 * x, 2.0, 0.1, max_iter=200), dtype=float)
    assert path.shape == (17,), f'expected 17 iterates in an array of shape (17,), got shape {path.shape}'
    assert path[0] == 2.0, f'the first iterate must be x0 = 2.0, got {path[0]}'
    assert abs(path[1] - 1.6) < 1e-09, f'the first step should go from 2.0 to 1.6, got {path[1]}'
    assert abs(path[-1] - 1.33343) < 1e-05, f'the last iterate should be about 1.33343, got {path[-1]}'

@test_case(points=None, hidden=False)
def test_vector_start(gradient_descent, np):
    scale = np.array([2.0, 1.0])
    path = np.asarray(gradient_descent(lambda x: scale * x, np.array([1.0, 1.0]), 0.5, tol=1e-06, max_iter=200), dtype=float)
    assert path.ndim == 2 and path.shape[1] == 2, f'for a vector x0 of length 2 expect shape (k + 1, 2), got {path.shape}'
    assert np.allclose(path[0], [1.0, 1.0]), f'the first row must be x0, got {path[0]}'
    assert np.allclose(path[1], [0.0, 0.5]), f'the first step should reach [0, 0.5], got {path[1]}'
    assert path.shape[0] == 21, f'expected 21 iterates (stop after the first step of size <= tol), got {path.shape[0]}'

@test_case(points=None, hidden=True)
def test_matches_reference(gradient_descent, np):

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
    q = rng.normal(size=(3, 3))
    a = q @ q.T + 3 * np.eye(3)
    b = rng.normal(size=3)
    cases = [(lambda x: 3 * x ** 2 - 4 * x, 2.0, 0.1, 0.0001, 300), (lambda x: 3 * x ** 2 - 4 * x, 0.5, 0.05, 0.001, 300), (lambda x: 2 * (x - 1.5), -1.0, 0.3, 1e-08, 300), (lambda x: a @ x - b, np.zeros(3), 0.05, 1e-05, 400), (lambda x: a @ x - b, np.ones(3), 0.01, 1e-05, 25), (lambda x: 2 * (x - 1.5), 4.0, 0.001, 1e-09, 7)]
    for grad, x0, lr, tol, max_iter in cases:
        want = reference(grad, x0, lr, tol, max_iter)
        with np.errstate(over='ignore', invalid='ignore'):
            got = np.asarray(gradient_descent(grad, x0, lr, tol=tol, max_iter=max_iter), dtype=float)
        assert got.shape == want.shape, f'x0={x0}, lr={lr}, tol={tol}, max_iter={max_iter}: shape {got.shape}, expected {want.shape}'
        assert np.allclose(got, want, rtol=1e-06, atol=1e-09), f'x0={x0}, lr={lr}: iterates differ from gradient descent'


from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 3
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_known_values(genz, np):
    x = np.array([[0.0, 0.0], [0.5, 0.25], [1.0, 1.0]])
    c = np.array([1.0, 2.0])
    w = np.array([0.5, 0.25])
    expected = {'oscillatory': [-1.0, -np.cos(1.0), -np.cos(3.0)], 'product_peak': [1 / (1.25 * 0.3125), 4.0, 1 / (1.25 * 0.8125)], 'corner_peak': [1.0, 2.0 ** (-3), 4.0 ** (-3)], 'gaussian': [np.exp(-0.5), 1.0, np.exp(-2.5)], 'continuous': [np.exp(-1.0), 1.0, np.exp(-2.0)], 'discontinuous': [1.0, np.e, 0.0]}
    for name, want in expected.items():
        got = np.asarray(genz(name, x, c, w), dtype=float)
        assert got.shape == (3,), f'{name}, d=2: expected shape (3,) for 3 points, got {got.shape}'
        assert np.allclose(got, want, rtol=1e-05), f'{name}, d=2: expected {np.round(want, 6).tolist()}, got {got.tolist()}'

@test_case(points=None, hidden=False)
def test_one_and_three_dimensions(genz, np):
    x1, c1, w1 = (np.array([[0.0], [0.3], [0.9]]), np.array([2.0]), np.array([0.5]))
    expected = {'oscillatory': np.cos(np.pi + 2 * x1[:, 0]), 'product_peak': 1 / (0.25 + (x1[:, 0] - 0.5) ** 2), 'corner_peak': (1 + 2 * x1[:, 0]) ** (-2.0), 'gaussian': np.exp(-4 * (x1[:, 0] - 0.5) ** 2), 'continuous': np.exp(-2 * np.abs(x1[:, 0] - 0.5)), 'discontinuous': np.where(x1[:, 0] <= 0.5, np.exp(2 * x1[:, 0]), 0.0)}
    for name, want in expected.items():
        got = np.asarray(genz(name, x1, c1, w1), dtype=float)
        assert got.shape == (3,), f'{name}, d=1: expected shape (3,) for 3 points, got {got.shape}'
        assert np.allclose(got, want, rtol=1e-05), f'{name}, d=1: expected {np.round(want, 6).tolist()}, got {got.tolist()}'
    x3, c3, w3 = (np.array([[0.1, 0.1, 0.9], [0.1, 0.6, 0.1]]), np.array([1.0, 1.0, 1.0]), np.array([0.5, 0.5, 0.5]))
    got = np.asarray(genz('discontinuous', x3, c3, w3), dtype=float)
    assert got.shape == (2,) and np.allclose(got, [np.exp(1.1), 0.0]), f'discontinuous, d=3: x_3 > w_3 does not cut, x_2 > w_2 does: expected [{np.exp(1.1):.6f}, 0], got {got.tolist()}'
    got = np.asarray(genz('corner_peak', x3, c3, w3), dtype=float)
    assert got.shape == (2,) and np.allclose(got, [2.1 ** (-4), 1.8 ** (-4)]), f'corner_peak, d=3: expected (1 + sum c_i x_i)^-4 = [{2.1 ** (-4):.6f}, {1.8 ** (-4):.6f}], got {got.tolist()}'

@test_case(points=None, hidden=True)
def test_random_members(genz, np):

    def reference(name, x, c, w):
        d = x.shape[1]
        if name == 'oscillatory':
            return np.cos(2 * np.pi * w[0] + x @ c)
        if name == 'product_peak':
            return 1.0 / np.prod(c ** (-2.0) + (x - w) ** 2, axis=1)
        if name == 'corner_peak':
            return (1.0 + x @ c) ** (-(d + 1.0))
        if name == 'gaussian':
            return np.exp(-np.sum(c ** 2 * (x - w) ** 2, axis=1))
        if name == 'continuous':
            return np.exp(-np.sum(c * np.abs(x - w), axis=1))
        inside = np.all(x[:, :2] <= w[:2], axis=1)
        return np.where(inside, np.exp(x @ c), 0.0)
    families = ('oscillatory', 'product_peak', 'corner_peak', 'gaussian', 'continuous', 'discontinuous')
    rng = np.random.default_rng(20240)
    for d in (1, 2, 3, 5, 10):
        for name in families:
            c, w = (rng.uniform(0.2, 3.0, size=d), rng.uniform(size=d))
            x = rng.uniform(size=(40, d))
            want = reference(name, x, c, w)
            got = np.asarray(genz(name, x, c, w), dtype=float)
            assert got.shape == (40,), f'{name}, d={d}: shape {got.shape}, expected (40,)'
            assert np.allclose(got, want, rtol=0.0001, atol=1e-05 * np.abs(want).max()), f'{name}, d={d}: values differ from the definition'


from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 3
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_smooth_function(fit_network, np):
    rng = np.random.default_rng(7)
    f = lambda x: np.sin(2 * x[:, 0]) + x[:, 1] ** 2
    x = rng.uniform(size=(200, 2))
    predict = fit_network(x, f(x), seed=0)
    x_test = rng.uniform(size=(500, 2))
    pred = np.asarray(predict(x_test), dtype=float)
    assert pred.shape == (500,), f'predict should return shape (500,) for 500 points, got {pred.shape}'
    assert np.isfinite(pred).all(), 'predict returned NaN or infinite values'
    err = float(np.mean(np.abs(pred - f(x_test))))
    assert err < 0.05, f'sin(2 x_1) + x_2^2 from 200 points: mean absolute error on fresh points is {err:.4f}; it should be below 0.05'
    one = np.asarray(predict(x_test[:1]), dtype=float)
    assert one.shape == (1,), f'predict on one point should return shape (1,), got {one.shape}'

@test_case(points=None, hidden=True)
def test_gaussian_accuracy(fit_network, np):
    rng = np.random.default_rng(2024)
    u_c, u_w = (rng.uniform(size=2), rng.uniform(size=2))
    c, w = (u_c * 7.03 / u_c.sum(), u_w / u_w.sum())
    f = lambda x: np.exp(-np.sum(c ** 2 * (x - w) ** 2, axis=1))
    x = rng.uniform(size=(500, 2))
    predict = fit_network(x, f(x), seed=0)
    x_test = rng.uniform(size=(1000, 2))
    pred = np.asarray(predict(x_test), dtype=float)
    assert pred.shape == (1000,), f'predict returned shape {pred.shape} for 1000 points, expected (1000,)'
    err = float(np.mean(np.abs(pred - f(x_test))))
    assert err < 0.05, f'Gaussian family, d=2, n=500: mean absolute error {err:.4f} is not below 0.05'


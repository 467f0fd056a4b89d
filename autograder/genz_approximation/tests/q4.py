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
    err = float(np.mean(np.abs(pred - f(x_test))))
    assert err < 0.05, f'mean absolute error on fresh points is {err:.4f}; it should be below 0.05'

@test_case(points=None, hidden=True)
def test_gaussian_accuracy(fit_network, np):
    from dlcourse.genz import genz as reference_genz, genz_params as reference_params
    rng = np.random.default_rng(2024)
    c, w = reference_params('gaussian', 2, rng)
    x = rng.uniform(size=(500, 2))
    predict = fit_network(x, reference_genz('gaussian', x, c, w), seed=0)
    x_test = rng.uniform(size=(2000, 2))
    pred = np.asarray(predict(x_test), dtype=float).reshape(-1)
    assert pred.shape == (2000,), f'predict returned {pred.size} values for 2000 points'
    err = float(np.mean(np.abs(pred - reference_genz('gaussian', x_test, c, w))))
    assert err < 0.05, f'Gaussian family, d=2, n=500: mean absolute error {err:.4f} is not below 0.05'


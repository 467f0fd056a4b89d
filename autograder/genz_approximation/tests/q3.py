from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_constant_offset(approximation_errors, np):
    f = lambda x: np.sin(x.sum(axis=1))
    mean_err, max_err = approximation_errors(lambda x: f(x) + 0.1, f, 3, n_test=500, rng=np.random.default_rng(0))
    assert np.isclose(float(mean_err), 0.1) and np.isclose(float(max_err), 0.1), f'an approximation that is off by 0.1 everywhere should give (0.1, 0.1), got ({mean_err}, {max_err})'

@test_case(points=None, hidden=True)
def test_known_errors(approximation_errors, np):
    zero = lambda x: np.zeros(len(x))
    f = lambda x: np.cos(3 * x[:, 0]) * x[:, -1]
    mean_err, max_err = approximation_errors(lambda x: f(x) - 0.25, f, 2, n_test=300, rng=np.random.default_rng(1))
    assert np.isclose(float(mean_err), 0.25) and np.isclose(float(max_err), 0.25), 'errors must be absolute values'
    mean_err, max_err = approximation_errors(lambda x: np.where(x[:, 0] < 0.3, 1.0, 0.0), zero, 4, n_test=20000, rng=np.random.default_rng(2))
    assert abs(float(mean_err) - 0.3) < 0.02, f'one spike on 30% of the cube: mean error should be near 0.3, got {mean_err}'
    assert np.isclose(float(max_err), 1.0), f'one spike of height 1: max error should be 1, got {max_err}'
    mean_err, max_err = approximation_errors(lambda x: x[:, 4], zero, 5, n_test=20000, rng=np.random.default_rng(3))
    assert abs(float(mean_err) - 0.5) < 0.02 and 0.99 < float(max_err) <= 1.0, 'points must be uniform on the unit cube in d dimensions'
    outside = lambda x: np.where(np.any((x < 0) | (x > 1), axis=1), 100.0, 0.0)
    assert float(approximation_errors(outside, zero, 3, n_test=2000, rng=np.random.default_rng(4))[1]) == 0.0, 'points must lie in [0, 1]^d'
    first = approximation_errors(lambda x: x[:, 0], zero, 2, n_test=50, rng=np.random.default_rng(5))
    again = approximation_errors(lambda x: x[:, 0], zero, 2, n_test=50, rng=np.random.default_rng(5))
    assert np.allclose(first, again), 'the test points must come from rng'
    mean_err, max_err = approximation_errors(lambda x: x[:, 0], zero, 2)
    assert 0.3 < float(mean_err) < 0.7 and float(max_err) <= 1.0, 'the defaults n_test=1000, rng=None must work'


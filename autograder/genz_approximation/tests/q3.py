from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_constant_offset(approximation_errors, np):
    f = lambda x: np.sin(x.sum(axis=1))
    mean_err, max_err = approximation_errors(lambda x: f(x) + 0.1, f, 3, n_test=500, rng=np.random.default_rng(0))
    assert np.isclose(float(mean_err), 0.1) and np.isclose(float(max_err), 0.1), f'an approximation off by +0.1 everywhere should give (0.1, 0.1), got ({float(mean_err)}, {float(max_err)})'

@test_case(points=None, hidden=False)
def test_absolute_mean_and_max(approximation_errors, np):
    zero = lambda x: np.zeros(len(x))
    mean_err, max_err = approximation_errors(lambda x: zero(x) - 0.25, zero, 2, n_test=100, rng=np.random.default_rng(1))
    assert np.isclose(float(mean_err), 0.25) and np.isclose(float(max_err), 0.25), f'an approximation off by -0.25 everywhere: errors are absolute values, expected (0.25, 0.25), got ({float(mean_err)}, {float(max_err)})'
    mean_err, max_err = approximation_errors(lambda x: np.where(x[:, 0] < 0.5, 1.0, -1.0), zero, 1, n_test=2000, rng=np.random.default_rng(2))
    assert np.isclose(float(mean_err), 1.0) and np.isclose(float(max_err), 1.0), f'd=1, errors of +1 and -1: expected mean and max absolute error (1, 1), got ({float(mean_err)}, {float(max_err)})'
    mean_err, max_err = approximation_errors(lambda x: x[:, 0], zero, 2, n_test=4000, rng=np.random.default_rng(3))
    assert abs(float(mean_err) - 0.5) < 0.03, f'error x_1 on the unit square: the mean absolute error (not the RMSE) should be about 0.5, got {float(mean_err)}'
    assert 0.99 < float(max_err) <= 1.0, f'error x_1 on the unit square: the maximum should be just below 1, got {float(max_err)}'
    first = approximation_errors(lambda x: x[:, 0], zero, 2, n_test=50, rng=np.random.default_rng(5))
    again = approximation_errors(lambda x: x[:, 0], zero, 2, n_test=50, rng=np.random.default_rng(5))
    assert np.allclose(np.asarray(first, dtype=float), np.asarray(again, dtype=float)), 'the same rng seed must give the same errors: draw the test points from rng'
    seen = []
    approximation_errors(lambda x: (seen.append(np.array(x, dtype=float)), x[:, 0])[1], zero, 3)
    shapes = [s.shape for s in seen]
    distinct = -1
    if seen and all((s.ndim == 2 and s.shape[1] == 3 for s in seen)):
        distinct = len(np.unique(np.concatenate(seen), axis=0))
    assert distinct == 1000, f'the default n_test=1000 with d=3 should evaluate predict at 1000 distinct points of dimension 3 (one call of shape (1000, 3), or several calls on the same points), got calls with shapes {shapes}'

@test_case(points=None, hidden=True)
def test_known_errors(approximation_errors, np):
    rng = np.random.default_rng(99)
    zero = lambda x: np.zeros(len(x))
    offset = float(rng.uniform(0.1, 0.9))
    f = lambda x: np.cos(3 * x[:, 0]) * x[:, -1]
    result = approximation_errors(lambda x: f(x) - offset, f, 2, n_test=300, rng=np.random.default_rng(1))
    assert len(result) == 2, 'return the pair (mean error, max error)'
    assert np.allclose(np.asarray(result, dtype=float), offset), f'an approximation off by -{offset:.3f} everywhere: expected ({offset:.3f}, {offset:.3f})'
    share = float(rng.uniform(0.2, 0.6))
    mean_err, max_err = approximation_errors(lambda x: np.where(x[:, 0] < share, 1.0, 0.0), zero, 4, n_test=20000, rng=np.random.default_rng(2))
    assert abs(float(mean_err) - share) < 0.02, f'd=4, a spike on {share:.0%} of the cube: mean error should be near {share:.3f}, got {float(mean_err):.4f}'
    assert np.isclose(float(max_err), 1.0), f'd=4, a spike of height 1: max error should be 1, got {float(max_err)}'
    mean_err, max_err = approximation_errors(lambda x: -x[:, 4], zero, 5, n_test=20000, rng=np.random.default_rng(3))
    assert abs(float(mean_err) - 0.5) < 0.02 and 0.99 < float(max_err) <= 1.0, 'd=5, error -x_5: points must be uniform on the unit cube in d dimensions, errors absolute'
    outside = lambda x: np.where(np.any((x < 0) | (x > 1), axis=1), 100.0, 0.0)
    assert float(approximation_errors(outside, zero, 3, n_test=2000, rng=np.random.default_rng(4))[1]) == 0.0, 'd=3: the test points must lie in [0, 1]^d'
    mean_err, max_err = approximation_errors(lambda x: x[:, 0], zero, 2)
    assert 0.4 < float(mean_err) < 0.6 and 0.9 < float(max_err) <= 1.0, 'the defaults n_test=1000, rng=None must work'
    assert np.isfinite(float(approximation_errors(lambda x: x[:, 0], zero, 1, n_test=1)[0])), 'n_test=1 must work'
    seen = []
    approximation_errors(lambda x: (seen.append(np.array(x, dtype=float)), x[:, 0])[1], zero, 4, n_test=37, rng=np.random.default_rng(6))
    shapes = [s.shape for s in seen]
    distinct = -1
    if seen and all((s.ndim == 2 and s.shape[1] == 4 for s in seen)):
        distinct = len(np.unique(np.concatenate(seen), axis=0))
    assert distinct == 37, f'n_test=37, d=4: predict should see 37 distinct points of dimension 4, got calls with shapes {shapes}'


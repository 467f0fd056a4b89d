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
        assert got.shape == (3,), f'{name}: expected shape (3,) for 3 points, got {got.shape}'
        assert np.allclose(got, want, rtol=1e-06), f'{name}: expected {np.round(want, 6)}, got {got}'

@test_case(points=None, hidden=True)
def test_against_reference(genz, np):
    from dlcourse.genz import FAMILIES, genz as reference_genz, genz_params as reference_params
    rng = np.random.default_rng(20240)
    for d in (1, 2, 3, 5):
        for name in FAMILIES:
            c, w = reference_params(name, d, rng)
            x = rng.uniform(size=(40, d))
            want = reference_genz(name, x, c, w)
            got = np.asarray(genz(name, x, c, w), dtype=float)
            assert got.shape == (40,), f'{name}, d={d}: shape {got.shape}'
            assert np.allclose(got, want, rtol=1e-05, atol=1e-12), f'{name}, d={d}: values differ from the definition'
    x = rng.uniform(size=(25, 4))
    c, w = (rng.uniform(0.5, 3.0, size=4), rng.uniform(size=4))
    for name in FAMILIES:
        assert np.allclose(np.asarray(genz(name, x, c, w), dtype=float), reference_genz(name, x, c, w), rtol=1e-05, atol=1e-12), f'{name}: values differ for unnormalised c, w'


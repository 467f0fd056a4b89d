from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_sums_and_draws(genz_params, np):
    targets = {'oscillatory': 1.5, 'product_peak': 3.0, 'corner_peak': 1.85, 'gaussian': 7.03, 'continuous': 20.4, 'discontinuous': 4.3}
    for name, b in targets.items():
        c, w = genz_params(name, 3, np.random.default_rng(1))
        c, w = (np.asarray(c, dtype=float), np.asarray(w, dtype=float))
        assert c.shape == (3,) and w.shape == (3,), f'{name}: c and w must have shape (d,) = (3,)'
        assert np.isclose(c.sum(), b), f'{name}: c should sum to {b}, sums to {c.sum():.6f}'
        assert np.isclose(w.sum(), 1.0), f'{name}: w should sum to 1, sums to {w.sum():.6f}'
    draws = np.random.default_rng(1)
    u_c, u_w = (draws.uniform(size=3), draws.uniform(size=3))
    c, w = genz_params('gaussian', 3, np.random.default_rng(1))
    assert np.allclose(c, u_c * 7.03 / u_c.sum()), 'c must come from the first rng.uniform(size=d) draw, rescaled'
    assert np.allclose(w, u_w / u_w.sum()), 'w must come from the second rng.uniform(size=d) draw, rescaled'

@test_case(points=None, hidden=True)
def test_against_reference(genz_params, np):
    from dlcourse.genz import FAMILIES, genz_params as reference_params
    for d in (1, 2, 5, 8):
        for k, name in enumerate(FAMILIES):
            seed = 100 * d + k
            c, w = genz_params(name, d, np.random.default_rng(seed))
            want_c, want_w = reference_params(name, d, np.random.default_rng(seed))
            c, w = (np.asarray(c, dtype=float), np.asarray(w, dtype=float))
            assert c.shape == (d,) and w.shape == (d,), f'{name}, d={d}: shapes {c.shape}, {w.shape}'
            assert np.allclose(c, want_c, rtol=1e-06), f'{name}, d={d}: c differs'
            assert np.allclose(w, want_w, rtol=1e-06), f'{name}, d={d}: w differs'


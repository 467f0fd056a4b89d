from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_sums_and_shapes(genz_params, np):
    for d in (1, 3):
        targets = {'oscillatory': 1.5, 'product_peak': float(d), 'corner_peak': 1.85, 'gaussian': 7.03, 'continuous': 20.4, 'discontinuous': 4.3}
        for name, b in targets.items():
            c, w = genz_params(name, d, np.random.default_rng(1))
            c, w = (np.asarray(c, dtype=float), np.asarray(w, dtype=float))
            assert c.shape == (d,) and w.shape == (d,), f'{name}, d={d}: c and w must have shape ({d},), got {c.shape} and {w.shape}'
            assert np.isclose(c.sum(), b), f'{name}, d={d}: c should sum to b = {b}, sums to {c.sum():.6f}'
            assert np.isclose(w.sum(), 1.0), f'{name}, d={d}: w should sum to 1, sums to {w.sum():.6f}'
            assert (c > 0).all() and (w > 0).all(), f'{name}, d={d}: rescaled uniform draws are positive'

@test_case(points=None, hidden=False)
def test_draws_come_from_rng(genz_params, np):

    def draws(name, d, n, seed):
        rng = np.random.default_rng(seed)
        cs, ws = ([], [])
        for _ in range(n):
            c, w = genz_params(name, d, rng)
            cs.append(np.asarray(c, dtype=float).reshape(-1))
            ws.append(np.asarray(w, dtype=float).reshape(-1))
        return (cs, ws)
    cs, ws = draws('gaussian', 3, 300, 0)
    again = draws('gaussian', 3, 1, 0)
    assert np.allclose(cs[0], again[0][0]) and np.allclose(ws[0], again[1][0]), 'the same rng seed must give the same c and w: draw them from rng'
    assert len({tuple(np.round(c, 10)) for c in cs}) == 300, 'every call must draw new parameters from rng'
    c_mean, w_mean = (np.mean(cs, axis=0), np.mean(ws, axis=0))
    assert np.allclose(c_mean / 7.03, 1 / 3, atol=0.07), f'300 draws, d=3: c / b should average 1/3 in each coordinate, got {np.round(c_mean / 7.03, 3).tolist()}'
    assert np.allclose(w_mean, 1 / 3, atol=0.07), f'300 draws, d=3: w should average 1/3 in each coordinate, got {np.round(w_mean, 3).tolist()}'
    corr = np.corrcoef(np.array(cs)[:, 0], np.array(ws)[:, 0])[0, 1]
    assert abs(corr) < 0.25, f'300 draws: c and w must be drawn independently, but c_1 and w_1 have correlation {corr:.2f}'

@test_case(points=None, hidden=True)
def test_distribution(genz_params, np):

    def draws(name, d, n, seed):
        rng = np.random.default_rng(seed)
        cs, ws = ([], [])
        for _ in range(n):
            c, w = genz_params(name, d, rng)
            cs.append(np.asarray(c, dtype=float).reshape(-1))
            ws.append(np.asarray(w, dtype=float).reshape(-1))
        return (cs, ws)

    def ks_distance(sample, reference):
        grid = np.sort(np.concatenate([sample, reference]))
        gap = np.searchsorted(np.sort(sample), grid, side='right') / len(sample) - np.searchsorted(np.sort(reference), grid, side='right') / len(reference)
        return float(np.abs(gap).max())
    seed = 8128
    ref = np.random.default_rng(seed + 1)
    for name, d, b in (('oscillatory', 2, 1.5), ('product_peak', 5, 5.0), ('discontinuous', 5, 4.3)):
        cs, ws = draws(name, d, 1000, seed)
        cs, ws = (np.array(cs), np.array(ws))
        assert cs.shape == (1000, d) and ws.shape == (1000, d), f'{name}, d={d}: c and w must have shape ({d},)'
        assert np.allclose(cs.sum(axis=1), b) and np.allclose(ws.sum(axis=1), 1.0), f'{name}, d={d}: c must sum to {b} and w to 1'
        assert (cs > 0).all() and (ws > 0).all(), f'{name}, d={d}: rescaled uniform draws are positive'
        u = ref.uniform(size=(20000, d))
        shares = u / u.sum(axis=1, keepdims=True)
        for i in range(d):
            assert ks_distance(cs[:, i] / b, shares[:, i]) < 0.095, f'{name}, d={d}: c_{i + 1} / b is not distributed as u_{i + 1} / sum(u) for uniform u'
            assert ks_distance(ws[:, i], shares[:, i]) < 0.095, f'{name}, d={d}: w_{i + 1} is not distributed as u_{i + 1} / sum(u) for uniform u'
        corr = np.corrcoef(cs[:, 0], ws[:, 0])[0, 1]
        assert abs(corr) < 0.2, f'{name}, d={d}: c and w must be independent draws (correlation of c_1 and w_1 is {corr:.2f})'


"""Tests of dlcourse.genz: values by hand, input checks, parameters, integrals."""

import math

import numpy as np
import pytest

from dlcourse.genz import FAMILIES, B, difficulty, genz, genz_params, integral

# One set of parameters and points for the hand-computed values (d = 2).
C = np.array([1.0, 2.0])
W = np.array([0.25, 0.5])
X = np.array([[0.5, 0.5], [0.2, 0.4], [0.0, 1.0]])

# Each value below is worked out on paper from the definition, not with the module.
HAND = {
    # cos(2 pi w1 + c.x): 2 pi 0.25 = pi/2, so cos(pi/2 + t) = -sin(t)
    "oscillatory": [-math.sin(0.5 + 1.0), -math.sin(0.2 + 0.8), -math.sin(0.0 + 2.0)],
    # prod 1 / (c_i^-2 + (x_i - w_i)^2), c^-2 = (1, 1/4)
    "product_peak": [
        1 / (1 + 0.0625) * 1 / (0.25 + 0.0),  # 64/17
        1 / (1 + 0.0025) * 1 / (0.25 + 0.01),
        1 / (1 + 0.0625) * 1 / (0.25 + 0.25),  # 32/17
    ],
    # (1 + c.x)^-(d+1) with d + 1 = 3
    "corner_peak": [2.5**-3, 2.0**-3, 3.0**-3],  # 0.064, 0.125, 1/27
    # exp(-sum c_i^2 (x_i - w_i)^2)
    "gaussian": [math.exp(-0.0625), math.exp(-(0.0025 + 4 * 0.01)), math.exp(-(0.0625 + 4 * 0.25))],
    # exp(-sum c_i |x_i - w_i|)
    "continuous": [math.exp(-0.25), math.exp(-(0.05 + 0.2)), math.exp(-(0.25 + 1.0))],
    # 0 if x1 > w1 or x2 > w2, else exp(c.x)
    "discontinuous": [0.0, math.e, 0.0],
}


def test_families_and_difficulties():
    assert FAMILIES == (
        "oscillatory",
        "product_peak",
        "corner_peak",
        "gaussian",
        "continuous",
        "discontinuous",
    )
    assert set(B) == set(FAMILIES)
    expected = {
        "oscillatory": 1.5,
        "corner_peak": 1.85,
        "gaussian": 7.03,
        "continuous": 20.4,
        "discontinuous": 4.3,
    }
    for name, b in expected.items():
        assert B[name] == b
        assert difficulty(name, 7) == b
    assert B["product_peak"] is None
    assert difficulty("product_peak", 5) == 5.0
    assert difficulty("product_peak", 10) == 10.0


@pytest.mark.parametrize("name", FAMILIES)
def test_values_by_hand(name):
    got = genz(name, X, C, W)
    assert got.shape == (3,)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, HAND[name], rtol=1e-12, atol=1e-15)


def test_a_few_values_spelled_out():
    # The same numbers as literals, to catch an error in both HAND and the module.
    assert genz("product_peak", X[:1], C, W)[0] == pytest.approx(64 / 17)
    assert genz("corner_peak", X[:1], C, W)[0] == pytest.approx(0.064)
    assert genz("oscillatory", X[:1], C, W)[0] == pytest.approx(-0.9974949866040544)
    assert genz("gaussian", X[:1], C, W)[0] == pytest.approx(0.9394130628134758)
    assert genz("discontinuous", X[1:2], C, W)[0] == pytest.approx(2.718281828459045)


def test_product_peak_is_the_reciprocal():
    # Largest (c_i^2 each) at x = w, as Genz defines it; the slide's version without
    # the exponent -1 would be smallest there.
    c, w = np.array([2.0, 3.0]), np.array([0.3, 0.6])
    at_w = genz("product_peak", w[None, :], c, w)[0]
    assert at_w == pytest.approx(4.0 * 9.0)
    elsewhere = genz("product_peak", np.array([[0.9, 0.1]]), c, w)[0]
    assert elsewhere < at_w


def test_discontinuous_boundary_and_one_dimension():
    c, w = np.array([1.0, 1.0, 1.0]), np.array([0.5, 0.5, 0.0])
    # x3 > w3 does not matter; x_i == w_i counts as inside
    x = np.array([[0.5, 0.5, 1.0], [0.5000001, 0.0, 0.0]])
    np.testing.assert_allclose(genz("discontinuous", x, c, w), [math.exp(2.0), 0.0])
    one = genz("discontinuous", np.array([[0.1], [0.9]]), np.array([2.0]), np.array([0.5]))
    np.testing.assert_allclose(one, [math.exp(0.2), 0.0])


def test_vectorised_over_points():
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(50, 4))
    for name in FAMILIES:
        c, w = genz_params(name, 4, rng)
        whole = genz(name, x, c, w)
        rows = np.array([genz(name, x[i : i + 1], c, w)[0] for i in range(len(x))])
        np.testing.assert_allclose(whole, rows, rtol=1e-13)
    assert genz("gaussian", np.zeros((0, 4)), np.ones(4), np.ones(4) / 4).shape == (0,)


@pytest.mark.parametrize(
    "x, c, w, message",
    [
        (np.array([0.5, 0.5]), C, W, "shape \\(n, d\\)"),
        (np.zeros((2, 2, 1)), C, W, "shape \\(n, d\\)"),
        (np.array([[0.5, np.nan]]), C, W, "finite"),
        (np.array([[0.5, np.inf]]), C, W, "finite"),
        (np.array([[0.5, 1.5]]), C, W, "unit cube"),
        (np.array([[-0.1, 0.5]]), C, W, "unit cube"),
        (X, np.ones(3), W, "c must have shape \\(2,\\)"),
        (X, C, np.ones((2, 1)), "w must be"),
        (X, np.array([1.0, np.nan]), W, "c must contain only finite"),
        (np.zeros((3, 0)), np.ones(0), np.ones(0), "at least one column"),
    ],
)
def test_input_checks(x, c, w, message):
    with pytest.raises(ValueError, match=message):
        genz("gaussian", x, c, w)


def test_unknown_family_and_bad_arguments():
    with pytest.raises(ValueError, match="unknown Genz family"):
        genz("peak", X, C, W)
    with pytest.raises(ValueError, match="unknown Genz family"):
        genz_params("Gaussian", 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="Generator"):
        genz_params("gaussian", 2, 0)
    with pytest.raises(ValueError, match="positive integer"):
        genz_params("gaussian", 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="positive integer"):
        difficulty("gaussian", 2.5)
    with pytest.raises(ValueError, match="shape"):
        integral("gaussian", np.ones(2), np.ones(3))


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("d", [1, 2, 5, 10])
def test_parameters_normalised_and_draw_order(name, d):
    c, w = genz_params(name, d, np.random.default_rng(42))
    assert c.shape == (d,) and w.shape == (d,)
    assert c.sum() == pytest.approx(difficulty(name, d))
    assert w.sum() == pytest.approx(1.0)
    assert np.all(c >= 0) and np.all(w >= 0) and np.all(w <= 1)
    # documented order: c = rng.uniform(size=d), then w = rng.uniform(size=d), then scaling
    rng = np.random.default_rng(42)
    raw_c = rng.uniform(size=d)
    raw_w = rng.uniform(size=d)
    np.testing.assert_allclose(c, raw_c / raw_c.sum() * difficulty(name, d), rtol=1e-14)
    np.testing.assert_allclose(w, raw_w / raw_w.sum(), rtol=1e-14)


def test_integrals_in_one_dimension_by_hand():
    c, w = np.array([2.0]), np.array([0.25])
    # int cos(pi/2 + 2x) dx = [sin(pi/2 + 2x) / 2] = (cos 2 - 1) / 2
    assert integral("oscillatory", c, w) == pytest.approx((math.cos(2.0) - 1) / 2)
    assert integral("product_peak", c, w) == pytest.approx(2 * (math.atan(1.5) + math.atan(0.5)))
    assert integral("corner_peak", c, w) == pytest.approx((1 - 1 / 3) / 2)
    gauss = math.sqrt(math.pi) / 4 * (math.erf(1.5) + math.erf(0.5))
    assert integral("gaussian", c, w) == pytest.approx(gauss)
    cont = ((1 - math.exp(-0.5)) + (1 - math.exp(-1.5))) / 2
    assert integral("continuous", c, w) == pytest.approx(cont)
    assert integral("discontinuous", c, w) == pytest.approx((math.exp(0.5) - 1) / 2)


def test_corner_peak_integral_in_two_dimensions_by_hand():
    # int int (1 + a x + b y)^-3 = [1 - 1/(1+a) - 1/(1+b) + 1/(1+a+b)] / (2 a b)
    a, b = 1.0, 2.0
    expected = (1 - 1 / 2 - 1 / 3 + 1 / 4) / (2 * a * b)
    assert integral("corner_peak", np.array([a, b]), np.array([0.5, 0.5])) == pytest.approx(
        expected
    )


def test_integrals_with_a_zero_coefficient():
    # c_i = 0 removes x_i from the function; the integrals take the limit.
    c, w = np.array([0.0, 2.0]), np.array([0.3, 0.7])
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(200_000, 2))
    for name in ("oscillatory", "corner_peak", "gaussian", "continuous", "discontinuous"):
        y = genz(name, x, c, w)
        se = y.std() / math.sqrt(len(y))
        assert abs(integral(name, c, w) - y.mean()) < 5 * se + 1e-12, name
    assert integral("product_peak", c, w) == 0.0


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("d", [2, 5, 10])
def test_integral_matches_monte_carlo(name, d):
    rng = np.random.default_rng(1000 + 10 * d + FAMILIES.index(name))
    c, w = genz_params(name, d, rng)
    y = genz(name, rng.uniform(size=(200_000, d)), c, w)
    se = y.std(ddof=1) / math.sqrt(len(y))
    exact = integral(name, c, w)
    # 4.5 standard errors: a false alarm about once in 150,000 cases
    assert abs(y.mean() - exact) < 4.5 * se + 1e-12 * abs(exact), (y.mean(), exact, se)


def test_corner_peak_integral_refuses_huge_dimension():
    with pytest.raises(ValueError, match="inclusion-exclusion"):
        integral("corner_peak", np.full(25, 0.1), np.full(25, 0.04))

"""The perceptron and the activation functions the book plots, against independent values."""

import math

import numpy as np
import pytest

from dlcourse import activations as act


def test_lecture_perceptron_example_is_sigmoid_of_minus_six():
    y_hat = act.perceptron(np.array([-1.0, 2.0]), 1.0, np.array([3.0, -2.0]))
    assert y_hat == pytest.approx(1.0 / (1.0 + math.exp(6.0)), rel=1e-14)
    assert round(float(y_hat), 4) == 0.0025


def test_perceptron_evaluates_many_inputs_at_once():
    x = np.array([[-1.0, 2.0], [1.0, 2.0]])
    np.testing.assert_allclose(act.perceptron(x, 1.0, [3.0, -2.0]), [1 / (1 + math.exp(6)), 0.5])


def test_perceptron_rejects_mismatched_weights():
    with pytest.raises(ValueError, match="3 features but w has 2"):
        act.perceptron(np.zeros(3), 0.0, np.zeros(2))


@pytest.mark.parametrize("z", [-30.0, -2.5, -0.3, 0.0, 0.7, 4.0, 30.0])
def test_values_match_textbook_formulas(z):
    s = 1 / (1 + math.exp(-z))
    assert act.sigmoid(z) == pytest.approx(s, rel=1e-12)
    assert act.tanh(z) == pytest.approx((math.exp(z) - math.exp(-z)) / (math.exp(z) + math.exp(-z)))
    assert act.relu(z) == max(0.0, z)
    assert act.swish(z) == pytest.approx(z * s, rel=1e-12, abs=1e-300)


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert act.sigmoid(-1000.0) == 0.0
        assert act.sigmoid(1000.0) == 1.0


@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
def test_derivatives_match_finite_differences(name):
    g, dg = act.ACTIVATIONS[name]
    z = np.linspace(-6, 6, 241) + 0.01  # avoid ReLU's kink at 0
    h = 1e-6
    np.testing.assert_allclose(dg(z), (g(z + h) - g(z - h)) / (2 * h), atol=1e-7)


def test_known_derivative_values():
    assert act.sigmoid_grad(0.0) == 0.25
    assert act.tanh_grad(0.0) == 1.0
    assert act.relu_grad(-1.0) == 0.0 and act.relu_grad(2.0) == 1.0
    assert act.relu_grad(0.0) == 0.0
    assert act.swish_grad(0.0) == 0.5

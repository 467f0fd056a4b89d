"""Activation functions and their derivatives in plain numpy, and the perceptron.

The book plots these and the tests check them against independent computations
(finite differences, Keras' own activations), so they live here once.
"""

import numpy as np


def sigmoid(z):
    """Logistic function 1 / (1 + exp(-z)), computed without overflow for large |z|."""
    z = np.asarray(z, dtype=float)
    # exp of a non-positive number never overflows
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    return np.tanh(np.asarray(z, dtype=float))


def tanh_grad(z):
    return 1.0 - np.tanh(np.asarray(z, dtype=float)) ** 2


def relu(z):
    return np.maximum(0.0, np.asarray(z, dtype=float))


def relu_grad(z):
    """1 for z > 0 and 0 otherwise (the convention at z = 0 is 0, as in Keras)."""
    return (np.asarray(z, dtype=float) > 0).astype(float)


def swish(z):
    """Swish (also called SiLU): z * sigmoid(z)."""
    z = np.asarray(z, dtype=float)
    return z * sigmoid(z)


def swish_grad(z):
    z = np.asarray(z, dtype=float)
    s = sigmoid(z)
    return s + z * s * (1.0 - s)


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "swish": (swish, swish_grad),
}


def perceptron(x, w0, w, g=sigmoid):
    """Forward pass of one perceptron: g(w0 + x . w) for x of shape (m,) or (n, m)."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    if x.shape[-1] != w.shape[0]:
        raise ValueError(f"x has {x.shape[-1]} features but w has {w.shape[0]} weights")
    return g(w0 + x @ w)

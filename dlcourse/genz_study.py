"""The engine behind the chapter "Approximating Genz functions".

The study fits one small network per cell of a grid (6 families x 3 dimensions
x 4 sample sizes x a few random draws, 216 networks by default) and a
classical baseline on the same samples, then measures errors on fresh
uniform test points.

Training 216 networks with one ``model.fit`` each costs seconds of overhead per
network. Here they all train together instead:

* **Stacked networks.** :class:`StackedDense` holds the weights of ``M``
  independent dense layers in one tensor of shape ``(M, inputs, units)`` and
  applies them with one batched ``keras.ops.matmul``. The loss is the *sum* of
  the networks' own mean squared errors, so each network's gradient is exactly
  the one it would get alone.
* **Full batch, data on the model.** The data sets are tiny, so every step
  uses all of a network's points. The points live on the model as
  non-trainable weights; ``fit`` only feeds a dummy input of one number per
  step, so no data is copied between steps.
* **Many steps per compiled call.** ``steps_per_execution`` runs a chunk of
  optimisation steps inside one compiled call.
* **XLA.** ``jit_compile=True`` compiles each step with XLA on both backends;
  on TensorFlow this halves the CPU time (Keras's ``"auto"`` skips XLA on a CPU).
* **Groups by sample size.** Networks with the same ``n`` form one group;
  inputs of lower dimension are padded with zeros to the largest ``d`` (the
  padded inputs are zero, so their weights get no gradient and stay zero).

All of this is backend-neutral Keras 3 (``keras.ops``, a custom layer, a
``keras.Model`` subclass), so it runs on TensorFlow and JAX.
"""

import time
from dataclasses import dataclass, field, replace

import numpy as np

from dlcourse.genz import FAMILIES, genz, genz_params
from dlcourse.notebook import constant_initializer as _constant
from dlcourse.notebook import keras_quietly as _keras

__all__ = [
    "NetworkConfig",
    "BaselineConfig",
    "StudyConfig",
    "StackedDense",
    "StackedMLP",
    "fit_networks",
    "fit_baseline",
    "make_tasks",
    "run_study",
    "summarize",
]


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture and training of every network in the study.

    ``hidden``          widths of the hidden layers
    ``activation``      any Keras activation name
    ``learning_rate``   Adam's initial step; cosine decay to ``final_lr_fraction`` of it
    ``steps``           full-batch Adam steps per network
    ``steps_per_call``  optimisation steps run inside one compiled call
    ``jit_compile``     passed to ``model.compile``; ``True`` (XLA) halves the CPU time on
                        TensorFlow, where Keras's ``"auto"`` would not use XLA on a CPU
                        (JAX always compiles with XLA)
    ``seed``            seed of the weight initialisation (numpy, the same on every backend)
    """

    hidden: tuple = (32, 32)
    activation: str = "silu"
    learning_rate: float = 0.02
    final_lr_fraction: float = 0.01
    steps: int = 1000
    steps_per_call: int = 500
    jit_compile: object = True
    seed: int = 0


@dataclass(frozen=True)
class BaselineConfig:
    """Radial-basis-function interpolation (:class:`scipy.interpolate.RBFInterpolator`).

    The default kernel is the cubic polyharmonic spline ``r^3`` with a linear
    polynomial tail (``"thin_plate_spline"`` is the other classic choice). The
    linear tail needs more than ``d + 1`` points; with fewer (``d = 10, n = 10``)
    the baseline falls back to ``fallback_kernel`` with a constant tail.
    """

    kernel: str = "cubic"
    fallback_kernel: str = "linear"
    smoothing: float = 1e-6


@dataclass(frozen=True)
class StudyConfig:
    families: tuple = FAMILIES
    dims: tuple = (2, 5, 10)
    sizes: tuple = (10, 50, 100, 500)
    draws: int = 3
    n_test: int = 1000
    seed: int = 0
    network: NetworkConfig = field(default_factory=NetworkConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)

    def replace(self, **changes):
        return replace(self, **changes)


# --- data -------------------------------------------------------------------


def make_tasks(config):
    """Draw parameters, training and test points for every cell of the grid.

    For each (family, d, draw) one generator ``np.random.default_rng([seed,
    family index, d, draw])`` draws ``(c, w)`` with :func:`genz_params`, then
    ``max(sizes)`` training points, then ``n_test`` test points. The training set
    of size ``n`` is the first ``n`` of those points, so the sample sizes are
    nested. Returns a list of dicts, one per (family, d, n, draw).
    """
    tasks = []
    n_max = max(config.sizes)
    for fi, family in enumerate(config.families):
        for d in config.dims:
            for draw in range(config.draws):
                rng = np.random.default_rng([config.seed, fi, d, draw])
                c, w = genz_params(family, d, rng)
                x_all = rng.uniform(size=(n_max, d))
                x_test = rng.uniform(size=(config.n_test, d))
                y_all = genz(family, x_all, c, w)
                y_test = genz(family, x_test, c, w)
                for n in config.sizes:
                    tasks.append(
                        dict(
                            family=family,
                            d=d,
                            n=n,
                            draw=draw,
                            c=c,
                            w=w,
                            x=x_all[:n],
                            y=y_all[:n],
                            x_test=x_test,
                            y_test=y_test,
                        )
                    )
    return tasks


# --- stacked networks -----------------------------------------------------------


def __getattr__(name):
    # The Keras classes are built on first use so that importing this module
    # (e.g. only for make_tasks) does not import Keras.
    if name in ("StackedDense", "StackedMLP", "StackedTrainer"):
        _define_keras_classes()
        return globals()[name]
    raise AttributeError(name)


def _define_keras_classes():
    if "StackedDense" in globals():
        return
    keras = _keras()
    ops = keras.ops

    class StackedDense(keras.layers.Layer):
        """``M`` independent dense layers: ``(M, P, inputs) -> (M, P, units)``.

        ``kernel`` has shape ``(M, inputs, units)`` and ``bias`` ``(M, 1, units)``;
        network ``m`` only ever sees slice ``m``. ``kernel_init`` and ``bias_init``
        are the initial values as numpy arrays.
        """

        def __init__(self, kernel_init, bias_init, activation=None, **kwargs):
            super().__init__(**kwargs)
            self.kernel_init = np.asarray(kernel_init, dtype="float32")
            self.bias_init = np.asarray(bias_init, dtype="float32")
            self.activation = keras.activations.get(activation)

        def build(self, input_shape):
            self.kernel = self.add_weight(
                shape=self.kernel_init.shape, name="kernel", initializer=_constant(self.kernel_init)
            )
            self.bias = self.add_weight(
                shape=self.bias_init.shape, name="bias", initializer=_constant(self.bias_init)
            )

        def call(self, x):
            return self.activation(ops.matmul(x, self.kernel) + self.bias)

    class StackedMLP(keras.layers.Layer):
        """``M`` independent multilayer perceptrons with one output each.

        Input ``(M, P, d_max)``, output ``(M, P)``. ``fan_in`` (length ``M``) is the
        true input dimension of each network: rows of the first kernel beyond it
        start (and, with zero inputs there, stay) at zero. Weights are drawn with
        Glorot's uniform rule from ``np.random.default_rng(seed)``.
        """

        def __init__(self, fan_in, d_max, hidden, activation, seed, **kwargs):
            super().__init__(**kwargs)
            rng = np.random.default_rng(seed)
            fan_in = np.asarray(fan_in)
            m = len(fan_in)
            widths = [d_max, *hidden, 1]
            self.blocks = []
            for k, (i, o) in enumerate(zip(widths[:-1], widths[1:])):
                real_in = fan_in if k == 0 else np.full(m, i)
                limit = np.sqrt(6.0 / (real_in + o))[:, None, None]
                kernel = rng.uniform(-1.0, 1.0, size=(m, i, o)) * limit
                if k == 0:
                    kernel[np.arange(i)[None, :] >= fan_in[:, None]] = 0.0
                last = k == len(widths) - 2
                self.blocks.append(
                    StackedDense(kernel, np.zeros((m, 1, o)), None if last else activation)
                )

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return ops.squeeze(x, axis=-1)

    class StackedTrainer(keras.Model):
        """Holds groups of stacked networks and their training data.

        ``call`` ignores its (dummy) input and returns, with shape ``(1, M)``,
        the mean squared error of every network on its own full training set.
        Minimising the sum trains every network independently.
        """

        def __init__(self, groups, hidden, activation, seed, **kwargs):
            super().__init__(**kwargs)
            self.mlps = []
            self.xs = []
            self.ys = []
            for g, (x, y, fan_in) in enumerate(groups):
                self.mlps.append(StackedMLP(fan_in, x.shape[-1], hidden, activation, seed + g))
                self.xs.append(
                    self.add_weight(
                        shape=x.shape,
                        trainable=False,
                        name=f"x{g}",
                        initializer=_constant(x.astype("float32")),
                    )
                )
                self.ys.append(
                    self.add_weight(
                        shape=y.shape,
                        trainable=False,
                        name=f"y{g}",
                        initializer=_constant(y.astype("float32")),
                    )
                )

        def call(self, dummy):
            losses = [
                ops.mean(ops.square(mlp(x) - y), axis=1)
                for mlp, x, y in zip(self.mlps, self.xs, self.ys)
            ]
            return ops.expand_dims(ops.concatenate(losses), 0)

    globals().update(
        StackedDense=StackedDense, StackedMLP=StackedMLP, StackedTrainer=StackedTrainer
    )


def _sum_of_losses(y_true, y_pred):
    return _keras().ops.sum(y_pred, axis=-1)


def fit_networks(xs, ys, config=NetworkConfig()):
    """Train one network per data set ``(xs[k], ys[k])``, all at once.

    ``xs[k]`` has shape ``(n_k, d_k)`` with entries in ``[0, 1]`` and ``ys[k]``
    shape ``(n_k,)``. Data sets with the same ``n_k`` train as one stacked
    group. Inputs are mapped to ``[-1, 1]`` and each target is standardised
    with its own training mean and standard deviation.

    Returns ``(predict, info)``: ``predict(xs_new)`` takes a list of arrays
    (one per network, shape ``(t_k, d_k)``; equal ``t_k`` within a group are
    fastest) and returns a list of predictions; ``info`` holds the number of
    networks, parameters, groups and the final training losses.
    """
    keras = _keras()
    _define_keras_classes()
    xs = [np.asarray(x, dtype=float) for x in xs]
    ys = [np.asarray(y, dtype=float).reshape(-1) for y in ys]
    d_max = max(x.shape[1] for x in xs)
    means = np.array([y.mean() for y in ys])
    stds = np.array([y.std() for y in ys])
    stds = np.where(stds > 1e-12, stds, 1.0)

    def pad(x):
        out = np.zeros((len(x), d_max))
        out[:, : x.shape[1]] = 2.0 * x - 1.0
        return out

    sizes = sorted({len(x) for x in xs})
    members = [[k for k in range(len(xs)) if len(xs[k]) == n] for n in sizes]
    groups = []
    for idx in members:
        gx = np.stack([pad(xs[k]) for k in idx])
        gy = np.stack([(ys[k] - means[k]) / stds[k] for k in idx])
        groups.append((gx, gy, np.array([xs[k].shape[1] for k in idx])))

    trainer = StackedTrainer(groups, tuple(config.hidden), config.activation, config.seed)
    chunk = max(1, min(config.steps_per_call, config.steps))
    calls = max(1, int(round(config.steps / chunk)))
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=chunk * calls, alpha=config.final_lr_fraction
    )
    trainer.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=_sum_of_losses,
        steps_per_execution=chunk,
        jit_compile=config.jit_compile,
    )
    dummy = np.zeros((chunk, 1), dtype="float32")
    history = trainer.fit(dummy, dummy, batch_size=1, epochs=calls, verbose=0, shuffle=False)
    final = keras.ops.convert_to_numpy(trainer(dummy[:1]))[0]
    train_mse = np.empty(len(xs))
    for idx, start in zip(members, np.cumsum([0] + [len(i) for i in members])):
        train_mse[idx] = final[start : start + len(idx)]

    def predict(xs_new):
        out = [None] * len(xs_new)
        for idx, mlp in zip(members, trainer.mlps):
            news = [np.asarray(xs_new[k], dtype=float) for k in idx]
            rows = max(len(x) for x in news)
            xb = np.zeros((len(idx), rows, d_max), dtype="float32")
            for j, x in enumerate(news):  # shorter point sets are padded, then cut off
                xb[j, : len(x)] = pad(x)
            z = keras.ops.convert_to_numpy(mlp(xb))
            for j, k in enumerate(idx):
                out[k] = z[j, : len(news[j])].astype(float) * stds[k] + means[k]
        return out

    n_params = sum(int(np.prod(v.shape)) for v in trainer.trainable_weights)
    info = dict(
        networks=len(xs),
        groups=len(groups),
        parameters=n_params,
        steps=chunk * calls,
        compiled_calls=calls,
        loss_history=list(history.history["loss"]),
        train_mse=train_mse,
    )
    return predict, info


# --- baseline ------------------------------------------------------------------


def fit_baseline(x, y, config=BaselineConfig()):
    """Fit the RBF baseline to one data set; returns ``predict(x_new)``.

    Like the networks, it sees inputs in ``[-1, 1]`` and standardised targets.
    """
    from scipy.interpolate import RBFInterpolator

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, d = x.shape
    mean, std = y.mean(), y.std()
    std = std if std > 1e-12 else 1.0
    if n > d + 1:
        rbf = RBFInterpolator(
            2 * x - 1, (y - mean) / std, kernel=config.kernel, smoothing=config.smoothing, degree=1
        )
    else:
        rbf = RBFInterpolator(
            2 * x - 1,
            (y - mean) / std,
            kernel=config.fallback_kernel,
            smoothing=config.smoothing,
            degree=0,
        )

    def predict(x_new):
        return rbf(2 * np.asarray(x_new, dtype=float) - 1) * std + mean

    return predict


# --- the study -------------------------------------------------------------------


def _errors(pred, truth):
    err = np.abs(pred - truth)
    scale = truth.std()
    scale = scale if scale > 0 else 1.0
    return dict(
        mean_abs=err.mean(),
        max_abs=err.max(),
        f_std=truth.std(),
        f_range=truth.max() - truth.min(),
        mean_rel=err.mean() / scale,
        max_rel=err.max() / scale,
        const_rel=np.abs(truth - truth.mean()).mean() / scale,
    )


def run_study(config=StudyConfig(), baseline=True):
    """Run the whole grid; returns ``(results, timings, info)``.

    ``results`` is a pandas DataFrame with one row per (method, family, d, n,
    draw) and the columns ``mean_abs``, ``max_abs`` (absolute errors on the test
    points), ``f_std``, ``f_range`` (of the true function on the test points) and
    ``mean_rel``, ``max_rel`` (absolute errors divided by ``f_std``) and
    ``const_rel`` (the ``mean_rel`` of the constant prediction ``mean(f)``, a
    reference point: it never exceeds 1).
    ``timings`` gives seconds per stage: ``data``, ``networks`` (building,
    compiling and training), ``baseline`` (fitting and predicting) and
    ``evaluation`` (network predictions and all error statistics), and
    ``total``. ``info["cpu_seconds"]`` holds the process CPU seconds of the same
    stages (less sensitive than wall time to other programs on the machine).
    """
    import pandas as pd

    timings, cpu = {}, {}

    class stage:  # records wall-clock and process CPU seconds of a block
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            self.wall, self.cpu = time.perf_counter(), time.process_time()

        def __exit__(self, *exc):
            timings[self.name] = time.perf_counter() - self.wall
            cpu[self.name] = time.process_time() - self.cpu

    with stage("data"):
        tasks = make_tasks(config)

    with stage("networks"):
        predict, info = fit_networks(
            [t["x"] for t in tasks], [t["y"] for t in tasks], config.network
        )

    if baseline:
        with stage("baseline"):
            base_preds = [fit_baseline(t["x"], t["y"], config.baseline)(t["x_test"]) for t in tasks]

    with stage("evaluation"):
        net_preds = predict([t["x_test"] for t in tasks])
        rows = []
        keys = ("family", "d", "n", "draw")
        for k, t in enumerate(tasks):
            cell = {key: t[key] for key in keys}
            rows.append(
                dict(
                    method="network",
                    **cell,
                    train_mse=info["train_mse"][k],
                    **_errors(net_preds[k], t["y_test"]),
                )
            )
            if baseline:
                rows.append(
                    dict(
                        method="rbf",
                        **cell,
                        train_mse=np.nan,
                        **_errors(base_preds[k], t["y_test"]),
                    )
                )
        results = pd.DataFrame(rows)
    timings["total"] = sum(timings.values())
    cpu["total"] = sum(cpu.values())
    info["cpu_seconds"] = cpu
    return results, timings, info


def summarize(results, value="mean_rel"):
    """Mean, standard deviation, minimum and maximum over the draws of column ``value``.

    One row per method, family, d and n.
    """
    grouped = results.groupby(["method", "family", "d", "n"], sort=False)[value]
    return grouped.agg(["mean", "std", "min", "max"]).reset_index()

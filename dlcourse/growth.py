"""The stochastic growth model of Brock and Mirman, solved by a network and by a grid.

The chapter *From function approximation to dynamic models*, exercise 3 and its
hidden tests all use this module, so the Euler residual the students write is
graded against exactly the one the chapter trains on.

The model (log utility, Cobb-Douglas output, depreciation ``delta``)::

    max E sum_t beta^t log(c_t)
    c_t + k_{t+1} = z_t k_t^alpha + (1 - delta) k_t
    log z_{t+1} = rho log z_t + sigma eps_{t+1},  eps ~ N(0, 1)

A *policy* is a function ``policy(k, z)`` that returns the **savings share**
``s`` in (0, 1): next period's capital is ``k' = s y`` and consumption is
``c = (1 - s) y``, with ``y = z k^alpha + (1 - delta) k`` the resources
available. With ``delta = 1`` the exact policy is the constant ``s = alpha beta``.

The Euler equation ``1/c = beta E[R'/c']``, ``R' = alpha z' k'^(alpha-1) + 1 - delta``,
is checked by its unit-free residual (Judd 1992)::

    EE(k, z) = 1 - u'^{-1}(beta E[u'(c') R']) / c = 1 - 1 / (beta c E[R'/c'])

the relative error in today's consumption that the policy implies; ``log10|EE|``
is Judd's "log10 Euler error".

Several independent shocks (used to add state dimensions): with ``shocks = d``
the state is ``(k, log z_1, ..., log z_d)``, each ``log z_i`` an AR(1) with the
same ``rho`` and innovation s.d. ``sigma / sqrt(d)``, and productivity is
``z = exp(sum_i log z_i)``. Aggregate productivity then follows exactly the
one-shock process, so the one-shock solution is the truth for every ``d``;
the solvers are not told this.

The residual functions take ``xp``, an array namespace: ``numpy`` (the
default) or ``keras.ops``, so the network's training loss and the checks
evaluate one and the same formula.
"""

import time
from dataclasses import dataclass, replace

import numpy as np

from dlcourse.notebook import constant_initializer as _constant
from dlcourse.notebook import keras_quietly as _keras


@dataclass(frozen=True)
class GrowthParams:
    """Parameters of the growth model (annual calibration, depreciation ``delta``)."""

    alpha: float = 0.36
    beta: float = 0.96
    delta: float = 1.0
    rho: float = 0.9
    sigma: float = 0.04
    shocks: int = 1  # number of independent productivity shocks (state dimension - 1)

    def replace(self, **changes):
        return replace(self, **changes)

    @property
    def sigma_each(self):
        """Innovation s.d. of each of the ``shocks`` components of log z."""
        return self.sigma / np.sqrt(self.shocks)

    @property
    def sd_log_z(self):
        """Stationary s.d. of log z (of the aggregate, and of the sum of components)."""
        return self.sigma / np.sqrt(1.0 - self.rho**2)

    @property
    def k_steady(self):
        """Deterministic steady state: ``1 = beta (alpha k^(alpha-1) + 1 - delta)``."""
        a, b, d = self.alpha, self.beta, self.delta
        return (a * b / (1.0 - b * (1.0 - d))) ** (1.0 / (1.0 - a))


def resources(params, k, z):
    """Resources ``y = z k^alpha + (1 - delta) k`` split between c and k'."""
    return z * k**params.alpha + (1.0 - params.delta) * k


def closed_form_share(params, k, z):
    """Exact savings share ``alpha beta`` (only for full depreciation)."""
    if params.delta != 1.0:
        raise ValueError("the closed form needs full depreciation, delta = 1")
    return np.full(np.broadcast_shapes(np.shape(k), np.shape(z)), params.alpha * params.beta)


def closed_form_policy(params, k, z):
    """``(k', c)`` of the exact policy: ``k' = alpha beta z k^alpha``, ``c = (1 - alpha beta) z k^alpha``."""
    if params.delta != 1.0:
        raise ValueError("the closed form needs full depreciation, delta = 1")
    y = z * np.asarray(k, dtype=float) ** params.alpha
    return params.alpha * params.beta * y, (1.0 - params.alpha * params.beta) * y


def gauss_hermite(n_nodes):
    """Nodes and weights with ``E[f(eps)] ~ sum_j w_j f(x_j)`` for ``eps ~ N(0, 1)``.

    NumPy's rule is for the weight ``exp(-x^2)``; the change of variables
    ``eps = sqrt(2) x`` turns it into one for the standard normal.
    """
    x, w = np.polynomial.hermite.hermgauss(n_nodes)
    return np.sqrt(2.0) * x, w / np.sqrt(np.pi)


def tensor_gauss_hermite(n_nodes, dims):
    """Tensor-product rule for ``dims`` independent standard normals: ``n_nodes**dims`` nodes.

    Returns nodes of shape ``(n_nodes**dims, dims)`` and weights ``(n_nodes**dims,)``.
    """
    x, w = gauss_hermite(n_nodes)
    grids = np.meshgrid(*([x] * dims), indexing="ij")
    weights = np.prod(np.meshgrid(*([w] * dims), indexing="ij"), axis=0)
    return np.stack([g.ravel() for g in grids], axis=-1), weights.ravel()


def expectation(f, z, params, n_nodes=5):
    """``E[f(z') | z]`` for ``log z' = rho log z + sigma eps`` by Gauss-Hermite quadrature.

    ``f`` maps an array of ``z'`` values (shape ``z.shape + (n_nodes,)``) to
    values of the same shape.
    """
    eps, w = gauss_hermite(n_nodes)
    log_z_next = params.rho * np.log(np.asarray(z, dtype=float))[..., None] + params.sigma * eps
    return np.sum(w * f(np.exp(log_z_next)), axis=-1)


def euler_residual_shocks(policy, k, log_z, params, n_nodes=5, xp=np):
    """Unit-free Euler residual ``1 - 1/(beta c E[R'/c'])`` with ``params.shocks`` shocks.

    ``k`` has shape ``(n,)`` and ``log_z`` shape ``(n, shocks)``;
    ``policy(k, log_z)`` returns the savings share for any leading shape
    (here ``(n,)`` and ``(n, m)``, ``m = n_nodes**shocks`` quadrature nodes).
    ``xp`` is ``numpy`` or ``keras.ops``.
    """
    a, b, d = params.alpha, params.beta, params.delta
    nodes, weights = tensor_gauss_hermite(n_nodes, params.shocks)
    if xp is not np:  # keras.ops: constants in the dtype of the states
        nodes, weights = xp.cast(nodes, log_z.dtype), xp.cast(weights, log_z.dtype)
    nodes = params.sigma_each * nodes

    z = xp.exp(xp.sum(log_z, axis=-1))
    y = z * k**a + (1.0 - d) * k
    share = policy(k, log_z)
    k_next = share * y
    c = (1.0 - share) * y

    log_z_next = params.rho * xp.expand_dims(log_z, 1) + nodes  # (n, m, shocks)
    z_next = xp.exp(xp.sum(log_z_next, axis=-1))  # (n, m)
    k_next_m = xp.expand_dims(k_next, 1) * xp.ones_like(z_next)
    share_next = policy(k_next_m, log_z_next)
    c_next = (1.0 - share_next) * (z_next * k_next_m**a + (1.0 - d) * k_next_m)
    gross_return = a * z_next * k_next_m ** (a - 1.0) + 1.0 - d
    expected = xp.sum(weights * gross_return / c_next, axis=-1)
    return 1.0 - 1.0 / (b * c * expected)


def euler_residual(policy, k, z, params, n_nodes=5):
    """Unit-free Euler residual at states ``(k, z)`` for ``policy(k, z) -> savings share``.

    One shock, NumPy arrays of equal shape (or scalars) for ``k`` and ``z``.
    The residual is the relative error in consumption today that the policy
    implies: 0 for the exact policy.
    """
    if params.shocks != 1:
        raise ValueError("euler_residual is the one-shock version; use euler_residual_shocks")
    k = np.asarray(k, dtype=float)
    z = np.asarray(z, dtype=float)
    shape = np.broadcast_shapes(k.shape, z.shape)
    k_flat = np.broadcast_to(k, shape).ravel()
    log_z = np.log(np.broadcast_to(z, shape)).reshape(-1, 1)
    res = euler_residual_shocks(
        lambda kk, lz: policy(kk, np.exp(lz[..., 0])), k_flat, log_z, params, n_nodes
    )
    return res.reshape(shape)


def log10_euler_error(residual):
    """Judd's log10 Euler error, ``log10 |EE|`` (floored at 1e-16)."""
    return np.log10(np.maximum(np.abs(residual), 1e-16))


def sample_states(params, n, seed=0, k_band=(0.6, 1.5)):
    """``n`` states ``(k, log_z)`` from the ergodic region.

    ``log_z`` (shape ``(n, shocks)``) is drawn from its stationary normal
    distribution, truncated at 3 s.d.; ``k`` uniformly on ``k_band`` times the
    deterministic steady state (the chapter checks simulated paths stay inside).
    """
    rng = np.random.default_rng(seed)
    sd = params.sigma_each / np.sqrt(1.0 - params.rho**2)
    log_z = np.clip(rng.normal(size=(n, params.shocks)), -3.0, 3.0) * sd
    k = params.k_steady * rng.uniform(*k_band, size=n)
    return k, log_z


def simulate(policy, params, periods, seed=0, paths=1, burn_in=100):
    """Simulate ``paths`` independent economies; returns ``(k, z, share)``.

    Each array has shape ``(periods, paths)``, or ``(periods,)`` when
    ``paths == 1``. ``policy(k, z)`` takes arrays of length ``paths`` and
    returns the savings share. Every path starts at the deterministic steady
    state (with z = 1); the first ``burn_in`` periods are dropped.
    """
    if params.shocks != 1:
        raise ValueError("simulate is for one shock")
    total = periods + burn_in
    eps = np.random.default_rng(seed).normal(size=(total, paths))
    log_z = np.zeros((total, paths))
    for t in range(1, total):
        log_z[t] = params.rho * log_z[t - 1] + params.sigma * eps[t]
    z = np.exp(log_z)
    k = np.empty((total, paths))
    share = np.empty((total, paths))
    k[0] = params.k_steady
    for t in range(total):
        share[t] = np.asarray(policy(k[t], z[t]), dtype=float)
        if t + 1 < total:
            k[t + 1] = share[t] * resources(params, k[t], z[t])
    out = k[burn_in:], z[burn_in:], share[burn_in:]
    return tuple(a[:, 0] for a in out) if paths == 1 else out


UNDEFINED_LOG10_EE = 3.0  # |EE| = 1000: worse than any policy worth grading


def policy_accuracy(policy, params, reference=None, periods=100, paths=20, seed=12345):
    """How good is ``policy(k, z)``? Measured on fresh simulated states, as a grader would.

    Simulates ``paths`` economies for ``periods`` periods under ``reference``
    (the exact policy when ``delta = 1``, otherwise a policy such as
    :meth:`GridSolution.share`), so the states come from the ergodic region of
    the true model whatever ``policy`` does, and returns a dict with the
    median and 99th percentile of the log10 Euler error of ``policy`` there,
    the median and largest relative error of its savings share against
    ``reference``, and whether every share lies strictly inside (0, 1).
    Undefined residuals (no consumption) count as ``UNDEFINED_LOG10_EE``.
    """
    if reference is None:
        reference = lambda k, z: closed_form_share(params, k, z)  # noqa: E731
    k, z, truth = simulate(reference, params, periods, seed=seed, paths=paths)
    k, z, truth = k.ravel(), z.ravel(), truth.ravel()
    share = np.asarray(policy(k, z), dtype=float).reshape(k.shape)
    with np.errstate(divide="ignore", invalid="ignore"):  # an infeasible share has c <= 0
        err = log10_euler_error(euler_residual(policy, k, z, params))
    err = np.where(np.isfinite(err), err, UNDEFINED_LOG10_EE)
    rel = np.abs(share / truth - 1.0)
    return dict(
        median_log10_ee=float(np.median(err)),
        p99_log10_ee=float(np.percentile(err, 99)),
        median_rel_error=float(np.median(rel)),
        max_rel_error=float(np.max(rel)),
        feasible=bool(np.all((share > 0.0) & (share < 1.0))),
        states=int(k.size),
    )


# --- the grid method -------------------------------------------------------------


@dataclass
class GridSolution:
    """Consumption on a tensor grid over ``(log k, log z_1, ..., log z_d)``."""

    params: GrowthParams
    log_k: np.ndarray
    log_z: np.ndarray  # grid of each shock component
    log_c: np.ndarray  # shape (len(log_k),) + (len(log_z),) * shocks
    iterations: int
    seconds: float
    change: float  # last sup-norm change of log c

    @property
    def points(self):
        return self.log_c.size

    def _interp(self):
        from scipy.interpolate import RegularGridInterpolator

        axes = (self.log_k,) + (self.log_z,) * self.params.shocks
        return RegularGridInterpolator(axes, self.log_c, bounds_error=False, fill_value=None)

    def share_shocks(self, k, log_z):
        """Savings share at ``k`` (any shape) and ``log_z`` (``k.shape + (shocks,)``)."""
        k = np.asarray(k, dtype=float)
        pts = np.concatenate([np.log(k)[..., None], np.asarray(log_z, dtype=float)], axis=-1)
        c = np.exp(self._interp()(pts.reshape(-1, pts.shape[-1]))).reshape(k.shape)
        y = resources(self.params, k, np.exp(np.sum(log_z, axis=-1)))
        return 1.0 - c / y

    def share(self, k, z):
        """One-shock policy ``(k, z) -> savings share``."""
        k = np.asarray(k, dtype=float)
        return self.share_shocks(
            k, np.log(np.asarray(z, dtype=float))[..., None] * np.ones(k.shape + (1,))
        )


def time_iteration(params, n_k=30, n_z=7, n_nodes=5, k_band=(0.5, 1.8), tol=1e-8, max_iter=2000):
    """Solve the model on a grid by time iteration on the Euler equation, in NumPy.

    Each iteration takes next period's consumption ``c(k', z')`` from the
    previous iterate and solves the Euler equation for today's policy. It uses
    the endogenous grid method (Carroll 2006) so that no root is searched at
    the grid points: on a grid of *next* period's capital ``k'`` the Euler
    equation gives today's ``c`` directly, the budget constraint gives the
    resources ``c + k'`` and so (by a few Newton steps) today's ``k``, and
    ``log c`` is interpolated back onto the fixed ``log k`` grid. ``log c`` is
    (multi)linearly interpolated in ``(log k, log z)``, which is exact for the
    closed form (delta = 1). The grid has ``n_k`` capital points on ``k_band``
    times the steady state and ``n_z`` points per shock over +-3 stationary s.d.
    """
    from scipy.interpolate import RegularGridInterpolator

    start = time.perf_counter()
    a, b, d, s = params.alpha, params.beta, params.delta, params.shocks
    log_k = np.log(params.k_steady) + np.linspace(np.log(k_band[0]), np.log(k_band[1]), n_k)
    sd_each = params.sigma_each / np.sqrt(1.0 - params.rho**2)
    log_z = np.linspace(-3.0 * sd_each, 3.0 * sd_each, n_z)
    shape = (n_k,) + (n_z,) * s
    grids = np.meshgrid(log_k, *([log_z] * s), indexing="ij")
    lz = np.stack(grids[1:], axis=-1)  # shape + (s,)
    z_tot = np.exp(lz.sum(axis=-1))
    k_grid = np.exp(grids[0])
    # initial guess: consume a fixed share of resources
    log_c = np.log(0.5 * resources(params, k_grid, z_tot))
    nodes, weights = tensor_gauss_hermite(n_nodes, s)
    nodes = params.sigma_each * nodes
    # next-period states for the exogenous grid of k' (same values as the k grid)
    lz_next = params.rho * lz[..., None, :] + nodes  # shape + (m, s)
    z_next = np.exp(lz_next.sum(axis=-1))
    kp = k_grid[..., None] * np.ones_like(z_next)
    pts = np.concatenate([np.log(kp)[..., None], lz_next], axis=-1).reshape(-1, s + 1)
    gross_return = a * z_next * kp ** (a - 1.0) + 1.0 - d
    axes = (log_k,) + (log_z,) * s
    change = np.inf
    for it in range(1, max_iter + 1):
        interp = RegularGridInterpolator(axes, log_c, bounds_error=False, fill_value=None)
        c_next = np.exp(interp(pts)).reshape(z_next.shape)
        c_today = 1.0 / (b * np.sum(weights * gross_return / c_next, axis=-1))
        cash = c_today + k_grid  # = z k^a + (1 - d) k at the endogenous k
        k_endo = solve_capital(params, cash, z_tot)
        # back onto the fixed grid, one line in k per shock point
        log_c_new = np.empty(shape)
        lk_endo = np.log(k_endo).reshape(n_k, -1)
        lc = np.log(c_today).reshape(n_k, -1)
        out = log_c_new.reshape(n_k, -1)
        for j in range(lk_endo.shape[1]):
            out[:, j] = _interp_linear(log_k, lk_endo[:, j], lc[:, j])
        change = np.max(np.abs(log_c_new - log_c))
        log_c = log_c_new
        if change < tol:
            break
    return GridSolution(params, log_k, log_z, log_c, it, time.perf_counter() - start, change)


def _interp_linear(x_new, x, y):
    """Linear interpolation that also extrapolates linearly (np.interp clamps)."""
    out = np.interp(x_new, x, y)
    lo, hi = x_new < x[0], x_new > x[-1]
    out[lo] = y[0] + (x_new[lo] - x[0]) * (y[1] - y[0]) / (x[1] - x[0])
    out[hi] = y[-1] + (x_new[hi] - x[-1]) * (y[-1] - y[-2]) / (x[-1] - x[-2])
    return out


def solve_capital(params, cash, z, steps=30):
    """Solve ``z k^alpha + (1 - delta) k = cash`` for ``k`` by Newton's method (vectorised).

    The left side is increasing and concave in ``k``; Newton started where it
    is below ``cash`` climbs monotonically to the root without overshooting.
    """
    a, d = params.alpha, params.delta
    k = (cash / (2.0 * z)) ** (1.0 / a)  # each term of the left side is at most cash / 2
    if d < 1.0:
        k = np.minimum(k, cash / (2.0 * (1.0 - d)))
    for _ in range(steps):
        f = z * k**a + (1.0 - d) * k - cash
        k = k - f / (a * z * k ** (a - 1.0) + 1.0 - d)
    return k


# --- the network -------------------------------------------------------------------


def _loss_is_output(y_true, y_pred):
    return _keras().ops.mean(y_pred)


def make_policy_network(params, hidden=(16, 16), n_nodes=5, n_paths=512, seed=0, k_band=(0.6, 1.5)):
    """A Keras model that trains a policy network on the Euler residual of its own policy.

    ``model.share(k, log_z)`` is the policy (keras.ops tensors in and out;
    ``k`` of any shape, ``log_z`` with a trailing axis of length ``shocks``).
    The inputs are centred and scaled (log k around its steady state, each
    log z by its stationary s.d.); a sigmoid output keeps the savings share in
    (0, 1), so every policy the network can represent is feasible.

    ``model(dummy)`` returns, with shape ``(1, 1)``, the mean squared Euler
    residual on its training states: ``n_paths`` simulated economies held in a
    non-trainable weight. They start from :func:`sample_states` and, in each
    training step, move one period forward under the current policy with
    fresh shocks (as in Deep Equilibrium Nets), so the states follow the
    ergodic region of the policy being learnt; a policy that saves too much
    cannot hide in states it never visits.
    """
    keras = _keras()
    ops = keras.ops
    k0, log_z0 = sample_states(params, n_paths, seed, k_band)

    class PolicyNetwork(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            init = keras.initializers.GlorotUniform
            self.blocks = [
                keras.layers.Dense(h, activation="tanh", kernel_initializer=init(seed + i))
                for i, h in enumerate(hidden)
            ]
            self.out = keras.layers.Dense(
                1, activation="sigmoid", kernel_initializer=init(seed + len(hidden))
            )
            self.log_k_ss = float(np.log(params.k_steady))
            self.sd_each = float(params.sigma_each / np.sqrt(1.0 - params.rho**2))
            self.states = self.add_weight(
                shape=(n_paths, 1 + params.shocks),
                trainable=False,
                name="states",
                initializer=_constant(np.column_stack([k0, log_z0])),
            )
            self.shock_seed = keras.random.SeedGenerator(seed)
            self.tiny = 1e-6  # keeps the share strictly inside (0, 1) when the sigmoid saturates

        def share(self, k, log_z):
            x = ops.concatenate(
                [ops.expand_dims((ops.log(k) - self.log_k_ss) / 0.3, -1), log_z / self.sd_each],
                axis=-1,
            )
            for block in self.blocks:
                x = block(x)
            return self.tiny + (1.0 - 2.0 * self.tiny) * ops.squeeze(self.out(x), -1)

        def call(self, dummy, training=False):
            k, log_z = self.states[:, 0], self.states[:, 1:]
            residual = euler_residual_shocks(self.share, k, log_z, params, n_nodes, xp=ops)
            if training:  # simulate every economy one period forward
                share = ops.stop_gradient(self.share(k, log_z))
                z = ops.exp(ops.sum(log_z, axis=-1))
                k_next = share * (z * k**params.alpha + (1.0 - params.delta) * k)
                eps = keras.random.normal(ops.shape(log_z), seed=self.shock_seed)
                log_z_next = params.rho * log_z + params.sigma_each * eps
                self.states.assign(ops.concatenate([ops.expand_dims(k_next, -1), log_z_next], -1))
            return ops.reshape(ops.mean(ops.square(residual)), (1, 1))

    return PolicyNetwork()


def train_policy(
    params,
    seed=0,
    hidden=(16, 16),
    steps=1500,
    steps_per_call=250,
    learning_rate=1e-2,
    final_lr_fraction=0.02,
    n_nodes=5,
    n_paths=512,
    k_band=(0.6, 1.5),
):
    """Train a policy network on the mean squared Euler residual; returns ``(policy, info)``.

    ``policy(k, z)`` (one shock) or ``policy.shocks(k, log_z)`` takes NumPy
    arrays and returns the savings share in float64; ``policy.model`` is the
    Keras model of :func:`make_policy_network`. ``info`` has the training
    time in seconds, the loss every ``steps_per_call`` steps, and the number
    of weights; ``seconds_per_step`` leaves out the first call (tracing and
    compiling). Adam with a cosine-decaying learning rate.
    """
    keras = _keras()
    keras.utils.set_random_seed(seed)
    model = make_policy_network(params, hidden, n_nodes, n_paths, seed, k_band)
    chunk = max(1, min(steps_per_call, steps))
    calls = max(1, int(round(steps / chunk)))
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=chunk * calls, alpha=final_lr_fraction
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule), loss=_loss_is_output, steps_per_execution=chunk
    )
    dummy = np.zeros((chunk, 1), dtype="float32")
    call_ends = []
    clock = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: call_ends.append(time.perf_counter())
    )
    start = time.perf_counter()
    history = model.fit(
        dummy, dummy, batch_size=1, epochs=calls, verbose=0, shuffle=False, callbacks=[clock]
    )
    seconds = time.perf_counter() - start
    # the first call also traces and compiles the step; the later ones are pure training
    per_step = np.median(np.diff(call_ends)) / chunk if calls > 1 else seconds / chunk

    def policy_shocks(k, log_z):
        k = np.asarray(k, dtype=float)
        dtype = keras.config.floatx()
        out = model.share(
            keras.ops.convert_to_tensor(k, dtype=dtype),
            keras.ops.convert_to_tensor(np.asarray(log_z, dtype=float), dtype=dtype),
        )
        return keras.ops.convert_to_numpy(out).astype(float)

    def policy(k, z):
        k = np.asarray(k, dtype=float)
        log_z = np.log(np.asarray(z, dtype=float))
        return policy_shocks(k, np.broadcast_to(log_z, k.shape)[..., None])

    policy.shocks = policy_shocks
    policy.model = model
    info = dict(
        seconds=seconds,
        seconds_per_step=float(per_step),
        loss=list(history.history["loss"]),
        steps=chunk * calls,
        weights=sum(int(np.prod(v.shape)) for v in model.trainable_weights),
    )
    return policy, info

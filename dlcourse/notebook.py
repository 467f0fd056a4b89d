"""One call at the top of every chapter: quiet logs, a seed, and which backend runs.

The environment variables must be set before Keras (and so TensorFlow) is
imported, which is why chapters call :func:`notebook` before ``import keras``.
"""

from __future__ import annotations

import os

DEFAULT_BACKEND = "tensorflow"


def quiet_environment() -> None:
    """Silence TensorFlow's start-up notices at the source: they are printed while TensorFlow
    is imported, so the settings must be in the environment before that."""
    os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # oneDNN prints a notice on import; results are equal either way up to rounding.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def keras_quietly():
    """Keras, imported only now and after :func:`quiet_environment`.

    Modules that build Keras models on first use call this, so that importing them (for
    data or reference code alone) imports neither Keras nor TensorFlow.
    """
    quiet_environment()  # before the first import of Keras (and TensorFlow)
    import keras

    return keras


def constant_initializer(value):
    """A Keras initializer that returns ``value`` reshaped to the requested shape."""
    import numpy as np

    def init(shape, dtype=None):
        return keras_quietly().ops.convert_to_tensor(np.asarray(value).reshape(shape), dtype=dtype)

    return init


def device_name() -> str:
    """A short description of the device the active Keras backend computes on."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        dev = jax.devices()[0]
        return f"{dev.platform.upper()} ({dev.device_kind})"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        return f"GPU ({gpus[0].name})" if gpus else "CPU"
    if backend == "torch":
        import torch

        return "GPU (CUDA)" if torch.cuda.is_available() else "CPU"
    return "CPU"


def notebook(seed: int = 0, keras: bool = True) -> str | None:
    """Prepare a chapter: quiet logs, plot style, seeds; report backend and device.

    Returns the description it prints, e.g. ``"Keras 3.15.0, backend tensorflow, CPU"``.
    """
    quiet_environment()
    from dlcourse.figures import use_figure_style

    use_figure_style()
    import numpy as np

    np.random.seed(seed)
    if not keras:
        return None
    import keras as _keras

    _keras.utils.set_random_seed(seed)
    # A compact progress display if a chapter ever trains with verbose > 0.
    _keras.config.disable_interactive_logging()
    info = f"Keras {_keras.__version__}, backend {_keras.backend.backend()}, {device_name()}"
    print(info)
    return info

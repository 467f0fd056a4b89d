"""One call at the top of every chapter: quiet logs, a seed, and which backend runs.

The environment variables must be set before Keras (and so TensorFlow) is
imported, which is why chapters call :func:`notebook` before ``import keras``.
"""
import os
import warnings

DEFAULT_BACKEND = "tensorflow"


def quiet_environment():
    """Silence TensorFlow's C++ and Python logging at the source."""
    os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # oneDNN prints a notice on import; results are equal either way up to rounding.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def device_name():
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


def notebook(seed=0, keras=True):
    """Prepare a chapter: quiet logs, plot style, seeds; report backend and device.

    Returns the description it prints, e.g. ``"Keras 3.15.0, backend tensorflow, CPU"``.
    """
    quiet_environment()
    import matplotlib

    matplotlib.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    import numpy as np

    np.random.seed(seed)
    if not keras:
        return None
    import logging

    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="tensorflow")
    import keras as _keras

    _keras.utils.set_random_seed(seed)
    # A compact progress display if a chapter ever trains with verbose > 0.
    _keras.config.disable_interactive_logging()
    info = f"Keras {_keras.__version__}, backend {_keras.backend.backend()}, {device_name()}"
    print(info)
    return info

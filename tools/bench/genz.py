"""Benchmark of the Genz study: wall time per backend and per stage, and accuracy.

    .venv/bin/python tools/bench/genz.py                 # the study on tensorflow and jax
    .venv/bin/python tools/bench/genz.py --ladder        # also: how each speed choice moved the time
    .venv/bin/python tools/bench/genz.py --backends jax  # one backend only
    .venv/bin/python tools/bench/genz.py --xla-ab 2      # TensorFlow: jit_compile "auto" vs True

Each backend runs in its own subprocess with KERAS_BACKEND set. The report goes
to _build/bench/genz.json (``--out`` to change). ``--book`` also copies it to
book/data/genz_bench.json, which the chapter reads for its "how this runs
fast" table.

Wall time depends on what else runs on the machine, so every entry also has the
process CPU seconds and the load average before and after. The ``--ladder``
entries marked ``extrapolated`` time a few cells and scale up to the full grid
(one cell per sample size, times the number of families, dimensions and draws).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """Wall and process CPU seconds of a block."""

    wall: float
    cpu: float

    def __enter__(self) -> Clock:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def accuracy(results: Any) -> dict[str, Any]:
    import numpy as np

    out = {}
    for method, part in results.groupby("method"):
        out[method] = {
            "geomean_mean_rel": float(np.exp(np.log(part["mean_rel"]).mean())),
            "geomean_max_rel": float(np.exp(np.log(part["max_rel"]).mean())),
            "mean_rel_by_n": {
                int(n): float(v) for n, v in part.groupby("n")["mean_rel"].mean().items()
            },
            "mean_rel_by_d": {
                int(d): float(v) for d, v in part.groupby("d")["mean_rel"].mean().items()
            },
        }
    if {"network", "rbf"} <= set(out):
        keys = ["family", "d", "n", "draw"]
        net = results[results.method == "network"].set_index(keys)["mean_rel"]
        rbf = results[results.method == "rbf"].set_index(keys)["mean_rel"]
        out["network_beats_rbf_fraction"] = float((net < rbf.loc[net.index]).mean())
    return out


def ladder(config: Any, tasks: list[dict]) -> dict[str, Any]:
    """Time the slower ways of training the same networks (see the module docstring)."""
    import dataclasses

    import keras

    from dlcourse.genz_study import fit_networks

    # Steps 1-5 use Keras's default compilation ("auto": no XLA for TensorFlow on a CPU);
    # step 6 adds XLA, the engine's default, on TensorFlow. JAX always uses XLA.
    net = dataclasses.replace(config.network, jit_compile="auto")
    per_size = len(config.families) * len(config.dims) * config.draws
    sample = {
        n: next(t for t in tasks if t["n"] == n and t["d"] == 5 and t["family"] == "gaussian")
        for n in config.sizes
    }
    entries = []

    def add(key, name, extrapolated, wall, cpu):
        entries.append(dict(key=key, name=name, extrapolated=extrapolated, wall=wall, cpu=cpu))
        log(f"  ladder {len(entries)}", entries[-1])

    def plain_model(d):
        layers = [keras.Input(shape=(d,))]
        layers += [keras.layers.Dense(h, activation=net.activation) for h in net.hidden]
        model = keras.Sequential(layers + [keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(net.learning_rate), loss="mse")
        return model

    # 1. one model.fit per network, mini-batches of 32, 200 epochs (the lecture's recipe)
    with Clock() as total:
        for t in sample.values():
            plain_model(5).fit(t["x"], t["y"], batch_size=32, epochs=200, verbose=0)
    add(
        "naive",
        "one fit per network, batch 32, 200 epochs",
        True,
        total.wall * per_size,
        total.cpu * per_size,
    )

    # 2. one model.fit per network, full batch, one step per epoch; timed at 2 lengths
    def full_batch(epochs):
        with Clock() as c:
            for n, t in sample.items():
                plain_model(5).fit(t["x"], t["y"], batch_size=n, epochs=epochs, verbose=0)
        return c

    short, long = full_batch(50), full_batch(250)

    def scale(a, b):  # linear in the number of steps, from 50 and 250 to net.steps
        return a + (b - a) / 200 * (net.steps - 50)

    add(
        "full_batch",
        f"one fit per network, full batch, {net.steps} steps",
        True,
        scale(short.wall, long.wall) * per_size,
        scale(short.cpu, long.cpu) * per_size,
    )

    # 3. the engine, but one network per call (data on the model, many steps per call)
    with Clock() as c:
        for t in sample.values():
            fit_networks([t["x"]], [t["y"]], net)
    add(
        "engine_single",
        f"engine, one network at a time, {net.steps_per_call} steps per call",
        True,
        c.wall * per_size,
        c.cpu * per_size,
    )

    # 4. all networks stacked, but one step per compiled call; timed at 2 lengths
    xs, ys = [t["x"] for t in tasks], [t["y"] for t in tasks]

    def stacked(steps, per_call):
        with Clock() as c:
            fit_networks(xs, ys, dataclasses.replace(net, steps=steps, steps_per_call=per_call))
        return c

    short, long = stacked(50, 1), stacked(250, 1)
    add(
        "stacked_1",
        f"all {len(tasks)} networks stacked, 1 step per call",
        True,
        scale(short.wall, long.wall),
        scale(short.cpu, long.cpu),
    )

    # 5. the study's setting (timed again here, networks only)
    full = stacked(net.steps, net.steps_per_call)
    add(
        "stacked",
        f"all {len(tasks)} networks stacked, {net.steps_per_call} steps per call",
        False,
        full.wall,
        full.cpu,
    )

    if keras.backend.backend() == "tensorflow":
        with Clock() as c:
            fit_networks(xs, ys, dataclasses.replace(net, jit_compile=True))
        add(
            "stacked_xla", "as above with XLA (jit_compile=True, the default)", False, c.wall, c.cpu
        )
    return entries


def xla_ab(rounds: int) -> list[dict[str, Any]]:
    """Train the study's networks on TensorFlow with and without XLA, alternating."""
    import dataclasses

    from dlcourse.genz_study import StudyConfig, fit_networks, make_tasks

    config = StudyConfig()
    tasks = make_tasks(config)
    xs, ys = [t["x"] for t in tasks], [t["y"] for t in tasks]
    runs = []
    for r in range(rounds):
        for jit in ("auto", True):
            load = os.getloadavg()[0]
            with Clock() as c:
                fit_networks(xs, ys, dataclasses.replace(config.network, jit_compile=jit))
            runs.append(dict(round=r, jit_compile=jit, wall=c.wall, cpu=c.cpu, load_before=load))
            log("  xla a/b", runs[-1])
    return runs


def child(args: argparse.Namespace) -> None:
    from dlcourse.notebook import notebook

    notebook(seed=0, keras=False)
    import logging

    import keras

    # fitting many small models in a row makes TensorFlow warn about retracing
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    from dlcourse.genz_study import StudyConfig, make_tasks, run_study

    keras.utils.set_random_seed(0)
    if args.xla_ab:
        Path(args.child_out).write_text(json.dumps(dict(xla_ab=xla_ab(args.xla_ab)), indent=1))
        return
    config = StudyConfig()
    report = dict(
        backend=keras.backend.backend(), keras=keras.__version__, load_before=os.getloadavg()
    )
    with Clock() as c:
        results, timings, info = run_study(config)
    report.update(
        wall=timings,
        cpu=info["cpu_seconds"],
        process_wall=c.wall,
        networks=info["networks"],
        parameters=info["parameters"],
        steps=info["steps"],
        compiled_calls=info["compiled_calls"],
        accuracy=accuracy(results),
        network_config=dict(vars(config.network)),
    )
    report["network_config"]["hidden"] = list(config.network.hidden)
    report["load_after_study"] = os.getloadavg()
    log(f"  study: {timings['total']:.1f} s wall, {info['cpu_seconds']['total']:.1f} s CPU")
    if args.ladder:
        report["ladder"] = ladder(config, make_tasks(config))
        report["load_after_ladder"] = os.getloadavg()
    results.to_csv(Path(args.child_out).with_suffix(".csv"), index=False)
    Path(args.child_out).write_text(json.dumps(report, indent=1))


def parent_xla_ab(args: argparse.Namespace) -> None:
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cmd = [sys.executable, __file__, "--child-out", str(out), "--xla-ab", str(args.xla_ab)]
        log("tensorflow: XLA on and off, alternating ...")
        if subprocess.run(cmd, env=env, cwd=ROOT).returncode != 0:
            sys.exit("XLA comparison failed")
        runs = json.loads(out.read_text())["xla_ab"]
    for run in runs:
        print(
            f"jit_compile={run['jit_compile']!s:<5} {run['wall']:6.1f} s wall {run['cpu']:6.1f} s CPU"
            f"   load {run['load_before']:.1f}"
        )
    targets = [ROOT / args.out] + (
        [ROOT / "book" / "data" / "genz_bench.json"] if args.book else []
    )
    for path in targets:  # added to an existing report
        report = json.loads(path.read_text()) if path.exists() else {}
        report["xla_ab"] = dict(date=time.strftime("%Y-%m-%d %H:%M"), runs=runs)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1))
        print(f"added to {path.relative_to(ROOT)}")


def parent(args: argparse.Namespace) -> None:
    report = dict(
        machine=dict(
            platform=platform.platform(), cpus=os.cpu_count(), python=platform.python_version()
        ),
        date=time.strftime("%Y-%m-%d %H:%M"),
        backends={},
    )
    for backend in args.backends:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "report.json"
            cmd = [sys.executable, __file__, "--child-out", str(out)]
            if args.ladder:
                cmd.append("--ladder")
            log(f"{backend}: running the study in a subprocess ...")
            with Clock() as c:
                proc = subprocess.run(cmd, env=env, cwd=ROOT)
            if proc.returncode != 0:
                sys.exit(f"{backend}: benchmark failed with exit status {proc.returncode}")
            entry = json.loads(out.read_text())
            entry["subprocess_wall"] = c.wall
            report["backends"][backend] = entry
            entry["_results"] = out.with_suffix(".csv").read_text()

    import io

    import numpy as np
    import pandas as pd

    frames = {b: pd.read_csv(io.StringIO(e.pop("_results"))) for b, e in report["backends"].items()}
    if len(frames) == 2:
        a, b = frames.values()
        report["backend_agreement"] = dict(
            max_abs_diff_mean_rel=float(np.max(np.abs(a["mean_rel"] - b["mean_rel"]))),
            median_abs_diff_mean_rel=float(np.median(np.abs(a["mean_rel"] - b["mean_rel"]))),
        )

    print(f"\nGenz study benchmark ({report['machine']['cpus']} CPUs, {report['date']})")
    stages = ["data", "networks", "baseline", "evaluation", "total"]
    print(f"{'backend':<11}" + "".join(f"{s:>12}" for s in stages) + "   (wall s / CPU s)")
    for backend, e in report["backends"].items():
        cells = "".join(f"{e['wall'][s]:>6.1f}/{e['cpu'][s]:<5.1f}" for s in stages)
        print(
            f"{backend:<11}{cells}   load {e['load_before'][0]:.1f} -> {e['load_after_study'][0]:.1f}"
        )
    for backend, e in report["backends"].items():
        acc = e["accuracy"]
        print(
            f"{backend}: mean error / std(f), geometric mean over cells: network "
            f"{acc['network']['geomean_mean_rel']:.4f}, rbf {acc['rbf']['geomean_mean_rel']:.4f}; "
            f"network better in {100 * acc['network_beats_rbf_fraction']:.0f}% of cells"
        )
        for step in e.get("ladder", []):
            tag = " (extrapolated)" if step["extrapolated"] else ""
            print(
                f"   {step['name']:<58} {step['wall']:>8.1f} s wall {step['cpu']:>8.1f} s CPU{tag}"
            )
    if "backend_agreement" in report:
        print(
            "tensorflow vs jax, |difference| of mean error / std(f) per cell: max "
            f"{report['backend_agreement']['max_abs_diff_mean_rel']:.2g}, median "
            f"{report['backend_agreement']['median_abs_diff_mean_rel']:.2g}"
        )

    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"report written to {out.relative_to(ROOT)}")
    if args.book:
        copy = ROOT / "book" / "data" / "genz_bench.json"
        if copy.exists() and "xla_ab" not in report:  # keep the last --xla-ab comparison
            previous = json.loads(copy.read_text())
            if "xla_ab" in previous:
                report["xla_ab"] = previous["xla_ab"]
        copy.write_text(json.dumps(report, indent=1))
        print(f"copied to {copy.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--ladder", action="store_true", help="also time the slower alternatives")
    parser.add_argument("--out", default="_build/bench/genz.json")
    parser.add_argument("--book", action="store_true", help="copy the report to book/data/")
    parser.add_argument(
        "--xla-ab",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only compare jit_compile 'auto' and True on TensorFlow",
    )
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_out:
        child(args)
    elif args.xla_ab:
        parent_xla_ab(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()

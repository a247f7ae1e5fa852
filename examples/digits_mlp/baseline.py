"""The baseline to beat: scikit-learn's default MLPClassifier on the same data splits.

Prints the validation and test accuracy and the seconds of

* ``MLPClassifier()`` with scikit-learn's defaults (``max_iter=200``, ``random_state=0``),
  fitted on the training split of ``train.py``;
* ``train.py`` at its default settings (the final model; epoch-by-epoch ``partial_fit``
  with early stopping on validation accuracy), in-process and as a fresh process.

Both fit with BLAS on one thread, as ``train.py`` does.
Accuracies are deterministic (fixed seeds); seconds are the median of ``--repeat`` runs.

Usage:
    python baseline.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits
from train import load_splits, parse_args, train

from agenthpo.reporter import active_reporter


def sklearn_default() -> dict[str, float]:
    """Fits a default MLPClassifier on the train split; returns its accuracies and time."""
    data = load_splits()
    start = time.perf_counter()
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(max_iter=200, random_state=0).fit(*data["train"])
    seconds = time.perf_counter() - start
    return {
        "val_accuracy": float(model.score(*data["val"])),
        "test_accuracy": float(model.score(*data["test"])),
        "seconds": seconds,
        "epochs": float(model.n_iter_),
    }


def script_default() -> dict[str, float]:
    """Runs train.py's training at its defaults in-process, without printing reports."""
    with active_reporter(lambda step, metrics: None), threadpool_limits(limits=1):
        final = train(parse_args([]), verbose=False)
    return {
        "val_accuracy": final["val_accuracy"],
        "test_accuracy": final["test_accuracy"],
        "seconds": final["train_time_s"],
        "epochs": final["epochs_run"],
    }


def process_seconds() -> float:
    """Wall-clock seconds of one ``python train.py`` run, interpreter start included."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(Path(__file__).with_name("train.py"))],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def median_run(run: Callable[[], dict[str, float]], repeat: int) -> dict[str, float]:
    """Runs ``run`` ``repeat`` times; the median seconds, the (identical) accuracies."""
    rows = [run() for _ in range(repeat)]
    return {**rows[0], "seconds": statistics.median(row["seconds"] for row in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Baseline accuracies and timings.")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    repeat = max(1, parser.parse_args().repeat)
    rows = {
        "sklearn MLPClassifier() default": median_run(sklearn_default, repeat),
        "train.py default settings": median_run(script_default, repeat),
    }
    print(f"{'model':34} {'val_acc':>8} {'test_acc':>8} {'epochs':>6} {'fit_s':>6}")
    for name, row in rows.items():
        print(
            f"{name:34} {row['val_accuracy']:8.4f} {row['test_accuracy']:8.4f} "
            f"{row['epochs']:6.0f} {row['seconds']:6.2f}"
        )
    seconds = statistics.median(process_seconds() for _ in range(repeat))
    print(f"one `python train.py` run, process start to exit (median): {seconds:.2f} s")


if __name__ == "__main__":
    main()

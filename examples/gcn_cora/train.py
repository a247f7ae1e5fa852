"""Train a two-layer graph convolutional network (GCN) on the Cora citation graph.

A training script for AgentHPO (the graph family of the AgentHPO paper, CPU-sized). Run as a
command, its options are the search space; imported, :func:`train` takes a configuration
mapping and returns the final metrics, so a benchmark can call it in-process.

Data: Cora (2708 papers, 5429 citation links, 1433 binary word features, 7 classes) with the
public Planetoid split of Kipf and Welling: 140 labelled training nodes, 500 validation nodes,
1000 test nodes; features row-normalized. ``torch_geometric.datasets.Planetoid`` reads the
raw Planetoid files (``ind.cora.x``, ``ind.cora.graph``, ...) from ``ROOT/Cora/raw/``. This
script links them there, in a cache directory, from the first of:

* the directory named by the environment variable ``AGENTHPO_PLANETOID_DIR``;
* ``shared/data/planetoid`` beside the repository or beside a folder above it, then
  ``/work/shared/data/planetoid`` (where this project's machines and CI keep them).

When neither holds the files, Planetoid downloads them as usual (into the same cache). The
processed graph is cached too (``AGENTHPO_CACHE_DIR``, default ``~/.cache/agenthpo``).

Model: the GCN of Kipf and Welling, ``A relu(A X W1) W2`` with ``A`` the normalized adjacency
(torch_geometric's ``gcn_norm``), dropout on the input features and the hidden layer,
full-batch Adam with weight decay on the first layer (as in the GCN paper). After each
epoch it reports ``train_loss``, ``val_loss`` and ``val_accuracy``; the kept model is the
epoch with the lowest validation loss (patience 30 epochs). Its ``val_loss`` (the
objective), ``val_accuracy`` and hidden ``test_accuracy`` are reported at the end. One CPU
thread; deterministic for a fixed ``--seed``; about 0.2 to 4 s a run (15 ms an epoch).

Usage:
    python train.py --hidden 32 --learning_rate 0.01 --dropout 0.5
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agenthpo.reporter import report

PATIENCE = 30
PLANETOID_ENV = "AGENTHPO_PLANETOID_DIR"
CACHE_ENV = "AGENTHPO_CACHE_DIR"
RAW_FILES = tuple(f"ind.cora.{s}" for s in ("x", "tx", "allx", "y", "ty", "ally", "graph"))
RAW_FILES += ("ind.cora.test.index",)

DEFAULTS: dict[str, Any] = {
    "hidden": 16,
    "learning_rate": 0.01,
    "weight_decay": 5e-4,
    "dropout": 0.5,
    "epochs": 200,
}
"""The configuration a run uses for every hyperparameter it is not given (the GCN paper's)."""


def local_planetoid_dir() -> Path | None:
    """Where the raw Planetoid files are on this machine, or ``None`` (then Planetoid
    downloads them)."""
    env = os.environ.get(PLANETOID_ENV)
    candidates = [Path(env)] if env else []
    # ``shared/data/planetoid`` beside the repository or beside any folder above it (a CI
    # checkout may sit deeper than the working copy), then this project's machines' own.
    repo = Path(__file__).resolve().parents[2]
    candidates += [up / "shared" / "data" / "planetoid" for up in repo.parents]
    candidates.append(Path("/work/shared/data/planetoid"))
    for folder in candidates:
        if all((folder / name).is_file() for name in RAW_FILES):
            return folder
    return None


def dataset_root() -> Path:
    """The Planetoid ``root``: a cache directory whose ``Cora/raw`` links the local files."""
    cache_dir = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "agenthpo")
    source = local_planetoid_dir()
    root = cache_dir / ("planetoid-" + (_slug(source) if source else "download"))
    if source is not None:
        raw = root / "Cora" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for name in RAW_FILES:
            link = raw / name
            if not link.exists():
                with contextlib.suppress(FileExistsError):  # another process linked it
                    link.symlink_to(source / name)
    return root


def _slug(path: Path) -> str:
    import hashlib

    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]


@cache
def load_graph() -> Any:
    """Cora as one ``torch_geometric.data.Data`` (features row-normalized), cached."""
    from torch_geometric.datasets import Planetoid
    from torch_geometric.transforms import NormalizeFeatures

    dataset = Planetoid(str(dataset_root()), "Cora", transform=NormalizeFeatures())
    return dataset[0]


class GCN(nn.Module):
    """Two graph convolutions (Kipf and Welling): ``A relu(A X W1) W2``, with dropout.

    ``A`` is the symmetrically normalized adjacency with self-loops (torch_geometric's
    ``gcn_norm``), a sparse matrix computed once. The input features are sparse (1.3% of
    them are non-zero), so input dropout acts on the non-zero entries only, which is what
    dropout on the dense matrix does, at a hundredth of the cost.
    """

    def __init__(self, n_features: int, hidden: int, n_classes: int, dropout: float) -> None:
        super().__init__()
        self.lin1 = nn.Linear(n_features, hidden, bias=False)
        self.lin2 = nn.Linear(hidden, n_classes, bias=False)
        self.bias1 = nn.Parameter(torch.zeros(hidden))
        self.bias2 = nn.Parameter(torch.zeros(n_classes))
        nn.init.xavier_uniform_(self.lin1.weight)
        nn.init.xavier_uniform_(self.lin2.weight)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """Class logits of every node, from sparse features ``x`` and adjacency ``adj``."""
        x = x.coalesce()
        values = nn.functional.dropout(x.values(), p=self.dropout, training=self.training)
        x = torch.sparse_coo_tensor(x.indices(), values, x.shape, check_invariants=False)
        h = torch.sparse.mm(adj, torch.sparse.mm(x, self.lin1.weight.t())) + self.bias1
        h = nn.functional.dropout(torch.relu(h), p=self.dropout, training=self.training)
        out: torch.Tensor = torch.sparse.mm(adj, self.lin2(h)) + self.bias2
        return out


@cache
def sparse_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """Cora's features and normalized adjacency (with self-loops) as sparse tensors."""
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    data = load_graph()
    edge_index, weight = gcn_norm(data.edge_index, None, data.num_nodes, add_self_loops=True)
    n = data.num_nodes
    adj = torch.sparse_coo_tensor(edge_index, weight, (n, n), check_invariants=False)
    return data.x.to_sparse().coalesce(), adj.coalesce()


def _check(config: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown hyperparameter(s): {', '.join(sorted(unknown))}")
    cfg = {**DEFAULTS, **config}
    for name in ("hidden", "epochs"):
        if int(cfg[name]) < 1:
            raise ValueError(f"{name} must be at least 1, got {cfg[name]}")
    if not 0.0 <= float(cfg["dropout"]) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {cfg['dropout']}")
    return cfg


def train(config: Mapping[str, Any] | None = None, *, seed: int = 0) -> dict[str, float]:
    """Trains one GCN, reporting each epoch; returns the final metrics.

    Args:
        config: Hyperparameters (missing ones take :data:`DEFAULTS`).
        seed: Weight initialization and dropout masks.

    Returns:
        ``val_loss`` (the objective), ``val_accuracy``, ``test_accuracy``, ``best_epoch``,
        ``epochs_run`` and ``train_time_s``.

    Raises:
        ValueError: An unknown or invalid hyperparameter.
    """
    cfg = _check(config or {})
    data = load_graph()
    x, adj = sparse_inputs()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        model = GCN(data.num_features, int(cfg["hidden"]), 7, float(cfg["dropout"]))
        optimizer = torch.optim.Adam(
            [
                {"params": [model.lin1.weight], "weight_decay": float(cfg["weight_decay"])},
                {"params": [model.bias1, model.lin2.weight, model.bias2], "weight_decay": 0.0},
            ],
            lr=float(cfg["learning_rate"]),
        )
        best: tuple[float, int, dict[str, torch.Tensor]] = (math.inf, 0, {})
        start = time.perf_counter()
        epoch = 0

        def evaluate() -> dict[str, float]:
            model.eval()
            with torch.no_grad():
                logits = model(x, adj)
            out: dict[str, float] = {}
            for split in ("val", "test"):
                mask = data[f"{split}_mask"]
                out[f"{split}_loss"] = float(
                    nn.functional.cross_entropy(logits[mask], data.y[mask])
                )
                out[f"{split}_accuracy"] = float(
                    (logits[mask].argmax(dim=1) == data.y[mask]).float().mean()
                )
            return out

        for epoch in range(1, int(cfg["epochs"]) + 1):
            model.train()
            optimizer.zero_grad()
            logits = model(x, adj)
            loss = nn.functional.cross_entropy(logits[data.train_mask], data.y[data.train_mask])
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            train_loss = loss.item()
            metrics = evaluate()
            report(
                step=epoch,
                train_loss=train_loss,
                val_loss=metrics["val_loss"],
                val_accuracy=metrics["val_accuracy"],
            )
            if not math.isfinite(train_loss):
                break  # diverged: the best epoch so far stands
            if metrics["val_loss"] < best[0]:
                best = (metrics["val_loss"], epoch, copy.deepcopy(model.state_dict()))
            elif epoch - best[1] >= PATIENCE:
                break
        if best[2]:
            model.load_state_dict(best[2])
        metrics = evaluate()
    finally:
        torch.set_num_threads(threads)
    final = {
        "val_loss": metrics["val_loss"],
        "val_accuracy": metrics["val_accuracy"],
        "test_accuracy": metrics["test_accuracy"],
        "best_epoch": float(best[1]),
        "epochs_run": float(epoch),
        "train_time_s": time.perf_counter() - start,
    }
    report(None, **final)
    return final


def parse_args(argv: Sequence[str] | None = None) -> tuple[dict[str, Any], int]:
    """The configuration and the seed from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in DEFAULTS.items():
        parser.add_argument(f"--{name}", type=type(default), default=default)
    parser.add_argument("--seed", type=int, default=0, help="weight init and dropout masks")
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
        f"best epoch {final['best_epoch']:.0f} of {final['epochs_run']:.0f}:"
        f" val_loss {final['val_loss']:.4f}, val_accuracy {final['val_accuracy']:.4f},"
        f" {final['train_time_s']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

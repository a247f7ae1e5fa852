"""Suite 2: Bayesmark's scikit-learn grid, re-created for current scikit-learn.

The ``bayesmark`` package no longer imports, so its grid is rebuilt here: models DT, RF, SVM,
kNN, MLP-sgd, AdaBoost, linear and lasso, on the datasets breast, digits, iris, wine
(classification, scored by log loss) and diabetes (regression, scored by mean squared error).
As in Bayesmark: an 80% split (``train_test_split(test_size=0.2, random_state=0)``),
5-fold cross-validation on it, the raw features, the same fixed estimator settings and the same
search spaces. Estimators get ``random_state=0`` so that objectives are deterministic.

Differences forced by current scikit-learn, or by the space format:
    * ``liblinear`` lost multiclass support: linear/lasso classifiers are
      ``OneVsRestClassifier(LogisticRegression(solver="liblinear"))``, which is what
      Bayesmark's ``multi_class="ovr"`` did.
    * ``normalize`` was removed from ``Lasso`` and ``Ridge``: dropped from their spaces.
    * ``SVC(probability=True)`` is deprecated: ``CalibratedClassifierCV(SVC(...),
      method="sigmoid", cv=5, ensemble=False)``, the same Platt scaling on internal 5-fold
      cross-validation; ``penalty="l1"/"l2"`` is spelled ``l1_ratio=1/0``.
    * Optuna and AgentHPO's space have no logit scale: a logit-scaled parameter ``p`` in
      ``[a, b]`` is searched as ``logit_p = log(p / (1 - p))`` in ``[logit(a), logit(b)]``
      (uniform there, as in Bayesmark), and its description tells the LLM how to read it.

Example:
    >>> from benchmarks.bayesmark import tasks
    >>> len(tasks())
    40
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from agenthpo.agent.prompts import TaskContext
from agenthpo.space import Space
from benchmarks.tasks import Evaluation, Objective, Task

__all__ = ["DATASETS", "MODELS", "SklearnObjective", "decode", "default_config", "tasks"]

# Bayesmark's parameter specs: (type, scale, low, high); "bool" has no range.
Spec = tuple[str, str, float, float]

_KNN: dict[str, Spec] = {
    "n_neighbors": ("int", "linear", 1, 25),
    "p": ("int", "linear", 1, 4),
}
_SVM: dict[str, Spec] = {
    "C": ("real", "log", 1.0, 1e3),
    "gamma": ("real", "log", 1e-4, 1e-3),
    "tol": ("real", "log", 1e-5, 1e-1),
}
_DT: dict[str, Spec] = {
    "max_depth": ("int", "linear", 1, 15),
    "min_samples_split": ("real", "logit", 0.01, 0.99),
    "min_samples_leaf": ("real", "logit", 0.01, 0.49),
    "min_weight_fraction_leaf": ("real", "logit", 0.01, 0.49),
    "max_features": ("real", "logit", 0.01, 0.99),
    "min_impurity_decrease": ("real", "linear", 0.0, 0.5),
}
_RF = _DT
_MLP_SGD: dict[str, Spec] = {
    "hidden_layer_sizes": ("int", "linear", 50, 200),
    "alpha": ("real", "log", 1e-5, 1e1),
    "batch_size": ("int", "linear", 10, 250),
    "learning_rate_init": ("real", "log", 1e-5, 1e-1),
    "power_t": ("real", "logit", 0.1, 0.9),
    "tol": ("real", "log", 1e-5, 1e-1),
    "momentum": ("real", "logit", 0.001, 0.999),
    "validation_fraction": ("real", "logit", 0.1, 0.9),
}
_ADA: dict[str, Spec] = {
    "n_estimators": ("int", "linear", 10, 100),
    "learning_rate": ("real", "log", 1e-4, 1e1),
}
_LINEAR_CLF: dict[str, Spec] = {
    "C": ("real", "log", 1e-2, 1e2),
    "intercept_scaling": ("real", "log", 1e-2, 1e2),
}
_LASSO_REG: dict[str, Spec] = {
    "alpha": ("real", "log", 1e-2, 1e2),
    "fit_intercept": ("bool", "", 0, 1),
    "max_iter": ("int", "log", 10, 5000),
    "tol": ("real", "log", 1e-5, 1e-1),
    "positive": ("bool", "", 0, 1),
}
_LINEAR_REG: dict[str, Spec] = {
    "alpha": ("real", "log", 1e-2, 1e2),
    "fit_intercept": ("bool", "", 0, 1),
    "max_iter": ("int", "log", 10, 5000),
    "tol": ("real", "log", 1e-4, 1e-1),
}

# scikit-learn's own defaults in each space's terms, for the task's default configuration
# (:func:`default_config` clips them into the space). "unlimited" depth is the deepest the
# space allows, a sample count (2 to split, 1 in a leaf) its smallest fraction, and the
# features a split considers are all of them (DT) or their square root (RF).
_DT_DEFAULTS: dict[str, Any] = {
    "max_depth": 15,
    "min_samples_split": 0.0,
    "min_samples_leaf": 0.0,
    "min_weight_fraction_leaf": 0.0,
    "max_features": 1.0,
    "min_impurity_decrease": 0.0,
}
_LINEAR_DEFAULTS: dict[str, Any] = {
    "C": 1.0,
    "intercept_scaling": 1.0,
    "alpha": 1.0,
    "fit_intercept": True,
    "max_iter": 1000,
    "tol": 1e-4,
}
_SKLEARN_DEFAULTS: dict[str, dict[str, Any]] = {
    "dt": _DT_DEFAULTS,
    "rf": {**_DT_DEFAULTS, "max_features": "sqrt"},
    "svm": {"C": 1.0, "gamma": "scale", "tol": 1e-3},
    "knn": {"n_neighbors": 5, "p": 2},
    "mlp-sgd": {
        "hidden_layer_sizes": 100,
        "alpha": 1e-4,
        "batch_size": 200,
        "learning_rate_init": 1e-3,
        "power_t": 0.5,
        "tol": 1e-4,
        "momentum": 0.9,
        "validation_fraction": 0.1,
    },
    "ada": {"n_estimators": 50, "learning_rate": 1.0},
    "linear": _LINEAR_DEFAULTS,
    "lasso": {**_LINEAR_DEFAULTS, "positive": False},
}

_DESCRIPTIONS = {
    "n_neighbors": "number of neighbours",
    "p": "Minkowski distance power (1 Manhattan, 2 Euclidean)",
    "C": "inverse regularization strength",
    "gamma": "RBF kernel coefficient",
    "tol": "stopping tolerance",
    "max_depth": "maximum tree depth",
    "min_samples_split": "minimum fraction of samples to split a node",
    "min_samples_leaf": "minimum fraction of samples in a leaf",
    "min_weight_fraction_leaf": "minimum weighted fraction of samples in a leaf",
    "max_features": "fraction of features considered at each split",
    "min_impurity_decrease": "minimum impurity decrease to split",
    "hidden_layer_sizes": "units of the single hidden layer",
    "alpha": "regularization strength (L2 penalty for the MLP and ridge, L1 for lasso)",
    "batch_size": "minibatch size",
    "learning_rate_init": "initial learning rate",
    "power_t": "exponent of the inverse-scaling learning-rate decay",
    "momentum": "SGD momentum (Nesterov)",
    "validation_fraction": "fraction of training data held out for early stopping",
    "n_estimators": "number of boosting rounds",
    "learning_rate": "boosting learning rate (shrinkage)",
    "intercept_scaling": "intercept scaling of liblinear",
    "fit_intercept": "fit an intercept",
    "max_iter": "maximum solver iterations",
    "positive": "force positive coefficients",
}


@dataclass(frozen=True)
class ModelDef:
    """A Bayesmark model: its estimator factory and spaces for classification and regression."""

    label: str
    clf_space: Mapping[str, Spec]
    reg_space: Mapping[str, Spec]
    clf: Callable[[dict[str, Any]], Any]
    reg: Callable[[dict[str, Any]], Any]
    slow_on: tuple[str, ...] = ()


def _svc(p: dict[str, Any]) -> Any:
    # Bayesmark's SVC(probability=True) (deprecated in scikit-learn 1.9): Platt scaling
    # fitted by internal 5-fold cross-validation, which is what this spells today.
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    return CalibratedClassifierCV(
        SVC(kernel="rbf", random_state=0, **p), method="sigmoid", cv=5, ensemble=False
    )


def _svr(p: dict[str, Any]) -> Any:
    from sklearn.svm import SVR

    return SVR(kernel="rbf", **p)


def _knn_c(p: dict[str, Any]) -> Any:
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(**p)


def _knn_r(p: dict[str, Any]) -> Any:
    from sklearn.neighbors import KNeighborsRegressor

    return KNeighborsRegressor(**p)


def _dt_c(p: dict[str, Any]) -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_leaf_nodes=None, random_state=0, **p)


def _dt_r(p: dict[str, Any]) -> Any:
    from sklearn.tree import DecisionTreeRegressor

    return DecisionTreeRegressor(max_leaf_nodes=None, random_state=0, **p)


def _rf_c(p: dict[str, Any]) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=10, max_leaf_nodes=None, random_state=0, **p)


def _rf_r(p: dict[str, Any]) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=10, max_leaf_nodes=None, random_state=0, **p)


def _mlp_params(p: dict[str, Any]) -> dict[str, Any]:
    q = dict(p)
    q["hidden_layer_sizes"] = (int(q["hidden_layer_sizes"]),)
    return q


def _mlp_c(p: dict[str, Any]) -> Any:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        solver="sgd",
        early_stopping=True,
        learning_rate="invscaling",
        nesterovs_momentum=True,
        random_state=0,
        **_mlp_params(p),
    )


def _mlp_r(p: dict[str, Any]) -> Any:
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(
        activation="tanh",
        solver="sgd",
        early_stopping=True,
        learning_rate="invscaling",
        nesterovs_momentum=True,
        random_state=0,
        **_mlp_params(p),
    )


def _ada_c(p: dict[str, Any]) -> Any:
    from sklearn.ensemble import AdaBoostClassifier

    return AdaBoostClassifier(random_state=0, **p)


def _ada_r(p: dict[str, Any]) -> Any:
    from sklearn.ensemble import AdaBoostRegressor

    return AdaBoostRegressor(random_state=0, **p)


def _logreg(l1_ratio: float) -> Callable[[dict[str, Any]], Any]:
    # penalty="l1"/"l2" is spelled l1_ratio=1/0 since scikit-learn 1.8.
    def make(p: dict[str, Any]) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        return OneVsRestClassifier(
            LogisticRegression(
                l1_ratio=l1_ratio, fit_intercept=True, solver="liblinear", random_state=0, **p
            )
        )

    return make


def _lasso_r(p: dict[str, Any]) -> Any:
    from sklearn.linear_model import Lasso

    return Lasso(random_state=0, **p)


def _ridge_r(p: dict[str, Any]) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(solver="auto", random_state=0, **p)


MODELS: dict[str, ModelDef] = {
    "dt": ModelDef("DecisionTree", _DT, _DT, _dt_c, _dt_r),
    "rf": ModelDef("RandomForest (10 trees)", _RF, _RF, _rf_c, _rf_r),
    "svm": ModelDef("SVM (RBF kernel)", _SVM, _SVM, _svc, _svr),
    "knn": ModelDef("k-nearest neighbours", _KNN, _KNN, _knn_c, _knn_r),
    "mlp-sgd": ModelDef(
        "MLP (SGD, Nesterov, early stopping)",
        _MLP_SGD,
        _MLP_SGD,
        _mlp_c,
        _mlp_r,
        slow_on=("digits",),
    ),
    "ada": ModelDef("AdaBoost", _ADA, _ADA, _ada_c, _ada_r),
    "linear": ModelDef(
        "linear (L2 logistic regression / ridge)",
        _LINEAR_CLF,
        _LINEAR_REG,
        _logreg(0.0),
        _ridge_r,
    ),
    "lasso": ModelDef(
        "lasso (L1 logistic regression / lasso)",
        _LINEAR_CLF,
        _LASSO_REG,
        _logreg(1.0),
        _lasso_r,
    ),
}

# name -> (loader name, is classification, facts)
DATASETS: dict[str, tuple[str, bool, dict[str, Any]]] = {
    "breast": ("load_breast_cancer", True, {"rows": 569, "features": 30, "classes": 2}),
    "digits": ("load_digits", True, {"rows": 1797, "features": 64, "classes": 10}),
    "iris": ("load_iris", True, {"rows": 150, "features": 4, "classes": 3}),
    "wine": ("load_wine", True, {"rows": 178, "features": 13, "classes": 3}),
    "diabetes": ("load_diabetes", False, {"rows": 442, "features": 10, "target": "real"}),
}

# Rough seconds per evaluation on a 2-core machine (for scheduling the longest runs first).
_COST = {"mlp-sgd": 3.0, "svm": 0.4, "ada": 0.5, "knn": 0.4, "rf": 0.3}


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _space(specs: Mapping[str, Spec]) -> Space:
    out: dict[str, Any] = {}
    for name, (kind, scale, low, high) in specs.items():
        desc = _DESCRIPTIONS.get(name, name)
        if kind == "bool":
            out[name] = {"type": "categorical", "choices": [True, False], "description": desc}
        elif scale == "logit":
            out[f"logit_{name}"] = {
                "type": "float",
                "low": round(_logit(low), 6),
                "high": round(_logit(high), 6),
                "description": (
                    f"logit of {name} ({desc}, from {low:g} to {high:g}):"
                    f" {name} = 1 / (1 + exp(-logit_{name}))"
                    + (f"; 0 means {name} = 0.5" if low < 0.5 < high else "")
                ),
            }
        else:
            out[name] = {
                "type": "int" if kind == "int" else "float",
                "low": int(low) if kind == "int" else float(low),
                "high": int(high) if kind == "int" else float(high),
                "log": scale == "log",
                "description": desc,
            }
    return Space.from_dict(out)


def decode(config: Mapping[str, Any], specs: Mapping[str, Spec]) -> dict[str, Any]:
    """Estimator keyword arguments for a configuration (logit parameters mapped back).

    Example:
        >>> round(decode(default_config("dt", "wine"), _DT)["max_features"], 6)  # logit 4.6
        0.99
    """
    params: dict[str, Any] = {}
    for name, (kind, scale, low, high) in specs.items():
        if scale == "logit":
            value = _expit(float(config[f"logit_{name}"]))
            params[name] = min(max(value, low), high)
        elif kind == "int":
            params[name] = int(config[name])
        elif kind == "bool":
            params[name] = bool(config[name])
        else:
            params[name] = float(config[name])
    return params


def default_config(model: str, dataset: str) -> dict[str, Any]:
    """scikit-learn's defaults for ``model`` as a configuration of its task's space: each
    value clipped into its range, logit parameters given as logits.

    Example:
        >>> default_config("knn", "iris")
        {'n_neighbors': 5, 'p': 2}
        >>> round(default_config("dt", "wine")["logit_max_features"], 3)  # all features: 0.99
        4.595
    """
    _, classification, facts = DATASETS[dataset]
    mdef = MODELS[model]
    specs = mdef.clf_space if classification else mdef.reg_space
    natural = dict(_SKLEARN_DEFAULTS[model])
    if natural.get("max_features") == "sqrt":
        natural["max_features"] = math.sqrt(facts["features"]) / facts["features"]
    if natural.get("gamma") == "scale":  # 1 / (n_features * X.var()), as SVC computes it
        x, _ = _data(dataset)
        natural["gamma"] = 1.0 / (x.shape[1] * float(np.var(x)))
    config: dict[str, Any] = {}
    for name, (kind, scale, low, high) in specs.items():
        value = natural[name]
        if kind == "bool":
            config[name] = bool(value)
            continue
        value = min(max(float(value), low), high)
        if scale == "logit":
            config[f"logit_{name}"] = _logit(value)
        elif kind == "int":
            config[name] = round(value)
        else:
            config[name] = value
    return config


@cache
def _data(dataset: str) -> tuple[Any, Any]:
    """The 80% split Bayesmark tunes on (the 20% test part is not used)."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loader, _, _ = DATASETS[dataset]
    x, y = getattr(datasets, loader)(return_X_y=True)
    x_train, _, y_train, _ = train_test_split(x, y, test_size=0.2, random_state=0, shuffle=True)
    return x_train, y_train


class SklearnObjective:
    """5-fold cross-validated loss of a model on a dataset (deterministic)."""

    def __init__(self, model: str, dataset: str) -> None:
        self.model = model
        self.dataset = dataset
        self.classification = DATASETS[dataset][1]
        mdef = MODELS[model]
        self.specs = mdef.clf_space if self.classification else mdef.reg_space
        self.factory = mdef.clf if self.classification else mdef.reg

    def __call__(self, config: Mapping[str, Any]) -> Evaluation:
        """The mean cross-validated log loss (classification) or MSE (regression)."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import cross_val_score

        x, y = _data(self.dataset)
        estimator = self.factory(decode(config, self.specs))
        scoring = "neg_log_loss" if self.classification else "neg_mean_squared_error"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning)
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            scores = cross_val_score(estimator, x, y, scoring=scoring, cv=5, error_score="raise")
        loss = -float(np.mean(scores))
        if not math.isfinite(loss):
            raise ValueError(f"non-finite cross-validated loss {loss}")
        return Evaluation(value=loss, true_value=loss)


def _task(model: str, dataset: str) -> Task:
    mdef = MODELS[model]
    loader, classification, facts = DATASETS[dataset]
    specs = mdef.clf_space if classification else mdef.reg_space
    metric = "cv_log_loss" if classification else "cv_mse"

    def build(seed: int) -> Objective:
        del seed  # deterministic: random_state=0 everywhere
        return SklearnObjective(model, dataset)

    slow = dataset in mdef.slow_on
    return Task(
        name=f"skl-{model}-{dataset}",
        suite="sklearn",
        space=_space(specs),
        direction="minimize",
        context=TaskContext(
            name=f"skl-{model}-{dataset}",
            description=(
                f"Tune a scikit-learn {mdef.label} on the {dataset} dataset (Bayesmark)."
                f" The score is the 5-fold cross-validated"
                f" {'log loss' if classification else 'mean squared error'} on an 80% split."
            ),
            dataset={"name": dataset, "source": f"sklearn.datasets.{loader}", **facts},
            model={"type": mdef.label},
            metric=metric,
            direction="minimize",
        ),
        build=build,
        eval_cost_s=(30.0 if slow else _COST.get(model, 0.1)),
        notes=f"{mdef.label} on {dataset}; {metric}"
        + (" (slow: 10-40 s an evaluation)" if slow else ""),
        default=default_config(model, dataset),
    )


def tasks() -> list[Task]:
    """The 40 Bayesmark tasks (8 models x 5 datasets); empty without scikit-learn."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return []
    return [_task(m, d) for m in MODELS for d in DATASETS]

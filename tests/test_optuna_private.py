"""Only ``agenthpo/_optuna.py`` touches Optuna's private API (issue 20), so an Optuna upgrade
breaks one file.

Every other module of the package is read (its syntax tree, and its classes as imported) and
any of these fails the test, naming the file and line:

- an attribute with a private name (one leading underscore) that Optuna defines, read or
  written on anything but ``self``/``cls`` (``study._storage``, ``trial._trial_id``,
  ``super()._optimize_acqf``), or named in ``getattr``/``hasattr``/``setattr``/``delattr``;
- an import from a private Optuna module (``optuna._gp``, ``optuna.samplers._tpe``) or of a
  private name from any Optuna module;
- ``vars(obj)`` or ``obj.__dict__`` on anything but ``self``/``cls``: it reads an object's
  private attributes wholesale (Optuna's samplers keep their random states there);
- a class that subclasses an Optuna class (directly or through a mixin) and defines, reads or
  writes through ``self`` a private name of that Optuna class (overriding
  ``GPSampler._optimize_acqf``, setting ``self._rng``).

Optuna's private names come from Optuna itself, whichever version is installed: every
private name its source defines (functions, classes, module and class attributes, attributes
assigned on objects, private module files) and what ``dir()`` shows of its public classes and
of live studies, trials, storages and samplers.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import re
import sys
import tempfile
import textwrap
import types
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import tomllib

import agenthpo

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "agenthpo"
HOME = PACKAGE / "_optuna.py"
"""The one module allowed to use Optuna's private API."""
REFLECTION = {"getattr", "hasattr", "setattr", "delattr"}
OWN = {"self", "cls"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name != "_"


def _module_of(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# -- what Optuna calls private ------------------------------------------------------------------
def _defined_private(tree: ast.AST) -> Iterator[str]:
    """Private names a syntax tree defines: functions, classes, assigned names and
    attributes (``self._storage = ...``)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            name = node.attr
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            name = node.id
        else:
            continue
        if _private(name):
            yield name


def _live_objects() -> Iterator[Any]:
    """Studies, trials, storages and samplers as Optuna builds them."""
    from optuna import samplers, storages

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    yield from (study, trial, study.trials[0], study._storage)
    with tempfile.TemporaryDirectory() as tmp:
        yield storages.RDBStorage(f"sqlite:///{tmp}/s.db")
        yield storages.JournalStorage(storages.journal.JournalFileBackend(f"{tmp}/j.log"))
    for name in (
        "TPESampler",
        "RandomSampler",
        "CmaEsSampler",
        "GPSampler",
        "NSGAIISampler",
        "QMCSampler",
    ):
        with warnings.catch_warnings():  # QMCSampler is "experimental"
            warnings.simplefilter("ignore")
            yield getattr(samplers, name)(seed=0)


@functools.cache
def optuna_private_names() -> frozenset[str]:
    """Every private name the installed Optuna defines or shows."""
    root = Path(optuna.__file__).parent
    names: set[str] = set()
    for path in root.rglob("*.py"):
        names.update(p for p in path.relative_to(root).with_suffix("").parts if _private(p))
        names.update(_defined_private(ast.parse(path.read_text(encoding="utf-8"))))
    public_modules = [
        optuna,
        optuna.distributions,
        optuna.pruners,
        optuna.samplers,
        optuna.storages,
        optuna.study,
        optuna.trial,
    ]
    for module in public_modules:
        for value in vars(module).values():
            if isinstance(value, type):
                names.update(n for n in dir(value) if _private(n))
    for obj in _live_objects():
        names.update(n for n in dir(obj) if _private(n))
    return frozenset(names)


@functools.cache
def _class_private(cls: type) -> frozenset[str]:
    """The private names of one Optuna class: its members and the attributes its methods
    assign on ``self``."""
    names = {n for n in dir(cls) if _private(n)}
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):  # pragma: no cover - a class without source
        return frozenset(names)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in OWN
            and _private(node.attr)
        ):
            names.add(node.attr)
    return frozenset(names)


# -- the scan -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what}"


def _own(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in OWN


def _optuna_module(name: str) -> bool:
    return name == "optuna" or name.startswith("optuna.")


def scan_source(source: str, file: str, names: frozenset[str]) -> list[Violation]:
    """The private accesses of one module's source (attributes, reflection, imports)."""
    found: list[Violation] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            if node.attr in names and not _own(node.value):
                found.append(
                    Violation(
                        file, node.lineno, f"{ast.unparse(node)}: Optuna's private {node.attr}"
                    )
                )
            elif node.attr == "__dict__" and not _own(node.value):
                found.append(
                    Violation(file, node.lineno, f"{ast.unparse(node)}: another object's state")
                )
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = node.args
            if (
                node.func.id in REFLECTION
                and len(args) >= 2
                and isinstance(args[1], ast.Constant)
                and args[1].value in names
                and not _own(args[0])
            ):
                found.append(
                    Violation(file, node.lineno, f"{ast.unparse(node)}: Optuna's private name")
                )
            elif node.func.id == "vars" and args and not _own(args[0]):
                found.append(
                    Violation(file, node.lineno, f"{ast.unparse(node)}: another object's state")
                )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _optuna_module(alias.name) and any(map(_private, alias.name.split("."))):
                    found.append(
                        Violation(file, node.lineno, f"import {alias.name}: a private module")
                    )
        elif isinstance(node, ast.ImportFrom) and not node.level:
            module = node.module or ""
            if not _optuna_module(module):
                continue
            if any(map(_private, module.split("."))):
                found.append(
                    Violation(file, node.lineno, f"from {module} import ...: a private module")
                )
            for alias in node.names:
                if _private(alias.name):
                    found.append(
                        Violation(file, node.lineno, f"from {module} import {alias.name}: private")
                    )
    return found


def _class_nodes(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.ClassDef]]:
    """(qualified name, node) of every class a module defines, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef):
            qualname = f"{prefix}{node.name}"
            yield qualname, node
            yield from _class_nodes(node, f"{qualname}.")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _class_nodes(node, f"{prefix}{node.name}.<locals>.")


def scan_class(node: ast.ClassDef, theirs: set[type], file: str) -> list[Violation]:
    """The private names of the Optuna classes ``theirs`` that the class ``node`` defines
    (an override) or reads or writes through ``self``/``cls``."""
    private = frozenset().union(*(_class_private(k) for k in theirs))
    found: list[Violation] = []
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in private:
            found.append(
                Violation(file, item.lineno, f"{node.name}.{item.name} overrides Optuna's private")
            )
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and _own(sub.value) and sub.attr in private:
            found.append(
                Violation(file, sub.lineno, f"{ast.unparse(sub)}: Optuna's private {sub.attr}")
            )
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store) and sub.id in private:
            found.append(Violation(file, sub.lineno, f"{node.name}.{sub.id}: Optuna's private"))
    return found


def _optuna_bases(cls: type) -> set[type]:
    return {k for k in cls.__mro__ if _optuna_module(k.__module__)}


def _package_modules() -> Iterator[types.ModuleType]:
    for info in pkgutil.walk_packages(agenthpo.__path__, "agenthpo."):
        if info.name.endswith("__main__"):
            continue
        try:
            yield importlib.import_module(info.name)
        except ImportError as exc:  # an optional dependency this environment lacks
            if (exc.name or "").split(".")[0] in {"agenthpo", "optuna"}:
                raise


def _classes_bound_to_optuna() -> dict[type, set[type]]:
    """The package's classes (outside the home module) that subclass an Optuna class or are
    mixed with one, each with the Optuna classes involved."""
    bound: dict[type, set[type]] = {}
    for module in _package_modules():
        for value in vars(module).values():
            if not isinstance(value, type) or value.__module__ != module.__name__:
                continue
            theirs = _optuna_bases(value)
            for k in value.__mro__ if theirs else ():
                if k.__module__.startswith("agenthpo") and k.__module__ != "agenthpo._optuna":
                    bound.setdefault(k, set()).update(theirs)
    return bound


def scan_package() -> list[Violation]:
    """Every private access of the package outside the home module."""
    names = optuna_private_names()
    found: list[Violation] = []
    trees: dict[Path, ast.Module] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == HOME:
            continue
        source = path.read_text(encoding="utf-8")
        trees[path] = ast.parse(source)
        found += scan_source(source, str(path.relative_to(ROOT)), names)
    for cls, theirs in _classes_bound_to_optuna().items():
        path = Path(inspect.getfile(cls)).resolve()
        node = dict(_class_nodes(trees[path]))[cls.__qualname__]
        found += scan_class(node, theirs, str(path.relative_to(ROOT)))
    return sorted(set(found), key=lambda v: (v.file, v.line, v.what))


# -- the tests ----------------------------------------------------------------------------------
def test_no_module_but_the_home_module_touches_optunas_private_api() -> None:
    found = scan_package()
    assert not found, (
        "Optuna's private API outside agenthpo/_optuna.py (add a function there and call it):\n"
        + "\n".join(map(str, found))
    )


def test_optunas_private_names_are_found() -> None:
    names = optuna_private_names()
    for name in (
        "_storage",
        "_study_id",
        "_trial_id",
        "_cached_frozen_trial",
        "_build_parzen_estimator",
        "_split_trials",
        "_optimize_acqf",
        "_gprs_cache_list",
        "_contains",
        "_tpe",
        "_gp",
        "_transform",
        "_experimental",
    ):
        assert name in names, name
    # the package's own private names are not Optuna's
    assert "_agenthpo_seed" not in names


PLANTED = """
import optuna._gp.gp
from optuna.samplers._tpe import sampler as tpe_module
from optuna.samplers import _tpe
from optuna._transform import _SearchSpaceTransform

def f(study, trial, sampler):
    study._storage.get_trial(trial._trial_id)
    n = getattr(sampler, "_n_startup_trials", 10)
    state = vars(sampler)
    raw = sampler.__dict__
    mine = creator._problems  # the package's own private name: not Optuna's
    return self._storage  # through self: the class check's business
"""


def test_the_scan_finds_planted_accesses() -> None:
    found = scan_source(PLANTED, "planted.py", optuna_private_names())
    lines = sorted({v.line for v in found})
    assert lines == [2, 3, 4, 5, 8, 9, 10, 11], "\n".join(map(str, found))
    assert any("study._storage" in v.what for v in found)
    assert any("trial._trial_id" in v.what for v in found)


PLANTED_CLASSES = """
from optuna.samplers import GPSampler, TPESampler

class Watched(GPSampler):
    def _optimize_acqf(self, acqf, best_params):
        return super()._optimize_acqf(acqf, best_params)

class Fine(TPESampler):
    def _mine(self):
        return self._agenthpo_seed

class Reaching(TPESampler):
    def reseed(self):
        self._rng.rng.seed(0)
"""


def test_the_class_check_finds_planted_overrides() -> None:
    module = types.ModuleType("planted")
    exec(compile(PLANTED_CLASSES, "planted.py", "exec"), module.__dict__)
    nodes = dict(_class_nodes(ast.parse(PLANTED_CLASSES)))
    found = {
        name: scan_class(nodes[name], _optuna_bases(getattr(module, name)), "planted.py")
        for name in ("Watched", "Fine", "Reaching")
    }
    assert [v.line for v in found["Watched"]] == [5], found["Watched"]
    assert found["Fine"] == []
    assert [v.line for v in found["Reaching"]] == [14], found["Reaching"]
    # super()._optimize_acqf is the source scan's: an attribute on something not self
    calls = scan_source(PLANTED_CLASSES, "planted.py", optuna_private_names())
    assert [v.line for v in calls] == [6]


def test_a_mixin_is_checked_against_the_optuna_class_it_is_mixed_with() -> None:
    bound = _classes_bound_to_optuna()
    from agenthpo._seeding import _PerTrial

    assert _PerTrial in bound
    assert optuna.samplers.TPESampler in bound[_PerTrial]


# -- the supported range ------------------------------------------------------------------------
def _floor() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (spec,) = [d for d in project["dependencies"] if re.match(r"optuna\b", d)]
    match = re.search(r">=\s*([0-9.]+)", spec)
    assert match, spec
    return match.group(1)


def test_the_oldest_optuna_ci_pins_the_floor_pyproject_declares() -> None:
    pins = (ROOT / ".ci" / "optuna-oldest.txt").read_text(encoding="utf-8")
    (pin,) = re.findall(r"^optuna==([0-9.]+)\s*$", pins, flags=re.M)
    floor = _floor()
    assert tuple(map(int, pin.split("."))) == tuple(map(int, (floor + ".0.0").split(".")[:3]))


def test_every_function_of_the_home_module_names_the_optuna_versions_checked() -> None:
    from agenthpo import _optuna

    floor = ".".join((_floor() + ".0.0").split(".")[:3])
    missing = []
    for name in _optuna.__all__:
        value = getattr(_optuna, name)
        doc = inspect.getdoc(value) or ""
        if isinstance(value, type):
            doc += "".join(inspect.getdoc(m) or "" for m in vars(value).values() if callable(m))
        if f"Optuna {floor}" not in " ".join(doc.split()):
            missing.append(name)
    assert not missing, f"say which Optuna versions these were checked against: {missing}"


if __name__ == "__main__":  # pragma: no cover - a quick listing
    print("\n".join(map(str, scan_package())) or "none", file=sys.stdout)

"""Reading a task file's YAML safely: bounded expansion and depth, no duplicate keys, and
no word that YAML 1.1 turns into a boolean in the search space.

``yaml.safe_load`` constructs no objects, but it expands aliases without bound (a few
hundred bytes become 9**9 values), recurses as deep as the file nests, keeps the last of two
equal keys in silence and reads an unquoted ``yes`` as ``True``. :func:`safe_load` refuses
each with a message naming the field (:class:`Refused`); :mod:`agenthpo.task` reads every
task file through it.

Example:
    >>> safe_load("n_trials: 3")
    {'n_trials': 3}
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_YAML_DEPTH", "MAX_YAML_VALUES", "Refused", "safe_load"]

MAX_YAML_VALUES = 100_000
"""How many values a task file may hold once its YAML aliases are expanded (an alias bomb
of nine levels holds 9**9 from a few hundred bytes)."""


MAX_YAML_DEPTH = 50
"""How deep a task file's values may nest (a task needs four or five levels)."""


class Refused(Exception):
    """A task file refused before it is read into Python values."""


def _expanded_size(node: yaml.Node, limit: int) -> int:
    """How many nodes ``node`` stands for with every alias expanded, counted up to ``limit``.

    Iterative, and memoized per node, so a bomb costs its size in the file, not its
    expansion. A recursive alias (``&a [*a]``: a value that holds itself) stands for
    infinitely many: ``limit + 1``.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # entered, children not yet counted
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        if id(current) in sizes:
            continue
        if not done and id(current) in open_nodes:
            # Only a descendant of an open node pushes it again: the value holds itself.
            return limit + 1
        open_nodes.add(id(current))
        children: list[yaml.Node] = []
        if isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        elif isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        if done:
            sizes[id(current)] = min(limit + 1, 1 + sum(sizes[id(c)] for c in children))
            continue
        stack.append((current, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(node)]


def _too_deep(node: yaml.Node, limit: int) -> bool:
    """Whether values nest deeper than ``limit`` under ``node`` (iterative; each node once)."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.SequenceNode):
            stack.extend((c, depth + 1) for c in current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend((n, depth + 1) for pair in current.value for n in pair)
    return False


def _duplicate_key(root: yaml.Node) -> str | None:
    """The first key that a mapping holds twice, as a refusal naming its field, or ``None``.

    YAML says keys are unique, but PyYAML lets the last one win silently.
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            first: dict[str, yaml.Node] = {}
            for key, value in node.value:
                name = str(key.value)[:80] if isinstance(key, yaml.ScalarNode) else "?"
                field = f"{path}.{name}" if path else name
                if isinstance(key, yaml.ScalarNode) and name in first:
                    return (
                        f"{field}: the key appears twice (lines"
                        f" {first[name].start_mark.line + 1} and {key.start_mark.line + 1});"
                        " keep one"
                    )
                first[name] = key
                stack.append((value, field))
    return None


_BOOL_TAG = "tag:yaml.org,2002:bool"


def _word_boolean(root: yaml.Node) -> str | None:
    """Why the space holds a word YAML 1.1 reads as a boolean (``yes``, ``no``, ``on``,
    ``off``, unquoted), or ``None``: ``amp: [yes, no]`` would reach the script as ``true``
    and ``false``, which a script that expects the words refuses on every trial.

    Example:
        >>> print(_word_boolean(yaml.compose("space: {amp: [yes, 'no']}")))
        ... # doctest: +NORMALIZE_WHITESPACE
        space.amp[0]: YAML reads the unquoted yes as the boolean true; quote it ('yes') if the
        script expects the word, or write true
        >>> _word_boolean(yaml.compose("space: {amp: [true, false]}")) is None
        True
    """
    if not isinstance(root, yaml.MappingNode):
        return None
    stack: list[tuple[yaml.Node, str]] = [
        (value, str(key.value)) for key, value in root.value if key.value == "space"
    ]
    while stack:
        node, where = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            word = str(node.value)
            if (
                node.tag == _BOOL_TAG
                and node.style is None
                and word.lower() not in ("true", "false")
            ):
                meant = "true" if word.lower() in ("yes", "y", "on") else "false"
                return (
                    f"{where}: YAML reads the unquoted {word} as the boolean {meant}; quote it"
                    f" ('{word}') if the script expects the word, or write {meant}"
                )
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            stack.extend((value, f"{where}.{key.value}") for key, value in node.value)
    return None


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with a bound on what aliases expand to.

    Raises:
        Refused: The aliases expand to more than :data:`MAX_YAML_VALUES` values (the
            message names the top-level field).
        yaml.YAMLError: Not YAML.
    """
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()  # recursive: a very deep file exhausts the stack
        except RecursionError:
            raise Refused(f"the YAML nests deeper than {MAX_YAML_DEPTH} levels") from None
        if root is None:
            return None
        duplicate = _duplicate_key(root)
        if duplicate is not None:
            raise Refused(duplicate)
        word = _word_boolean(root)
        if word is not None:
            raise Refused(word)
        if _too_deep(root, MAX_YAML_DEPTH):
            where = "the file"
            if isinstance(root, yaml.MappingNode):
                for key, value in root.value:
                    if _too_deep(value, MAX_YAML_DEPTH - 1):
                        where = str(key.value)[:80]
                        break
            raise Refused(f"{where}: the YAML nests deeper than {MAX_YAML_DEPTH} levels")
        if _expanded_size(root, MAX_YAML_VALUES) > MAX_YAML_VALUES:
            where = "the file"
            if isinstance(root, yaml.MappingNode):
                for key, value in root.value:
                    if _expanded_size(value, MAX_YAML_VALUES) > MAX_YAML_VALUES // 2:
                        where = str(key.value)[:80]
                        break
            raise Refused(
                f"{where}: its YAML aliases expand to more than {MAX_YAML_VALUES:,} values"
                " (an alias bomb, or an alias inside the value it names); write the values"
                " out instead"
            )
        return loader.construct_document(root)
    finally:
        loader.dispose()

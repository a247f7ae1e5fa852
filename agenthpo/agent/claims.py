"""Checks what a rationale claims about the history against the stored numbers.

A small model's rationale may misread the history it was shown: name trial #11 the best when
#10 was, or call ``0.934 -> 0.932`` an improvement of an accuracy. :func:`check_rationale`
finds the claims that can be tied to stored numbers, and says which contradict them:

- a trial named the best (``best trial #11``, ``#11 is the best``) that is not the best
  completed trial (a tie with the best counts as the best);
- an improvement claimed (``improved``, ``better``, ``gain``) for a pair of trials
  (``#10 -> #11``, ``#11 is better than #10``) or of values that are both stored results
  (``0.934 -> 0.932``, ``from 0.934 to 0.932``), where the stored values show a loss under
  the study's direction.

It is deliberately simple: regular expressions on trial numbers and on explicit value
pairs, no language understanding. A claim it cannot tie to stored numbers, a negated or
hypothetical one (``should improve``), is not judged. The sampler stores what it finds on
the trial (``rationale_check``) for reports; a proposal is never refused for it.

Example:
    >>> results = {10: 0.941, 11: 0.932}
    >>> check_rationale("Trial #11 is the best so far, so stay near it", results,
    ...                 direction="maximize", metric="acc")
    'claims #11 is the best; the best is #10 (acc=0.941)'
    >>> check_rationale("0.941 -> 0.932 was an improvement", results, direction="maximize",
    ...                 metric="acc")
    'calls 0.941 -> 0.932 an improvement; it is a loss (higher acc is better)'
    >>> check_rationale("raise C to explore", results, direction="maximize") is None
    True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

__all__ = ["check_rationale"]

_REF = r"(?:\btrial\s*#?\s*|#\s*)(\d+)"
_NUM = r"(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)(%?)"

# "best trial #11", "best so far is #11", "best (#11)", "best result: trial 11"
_BEST_THEN_REF = re.compile(
    r"(?:\b(second|third|next|previous|former|old|earlier|prior|2nd|3rd)[\s-]+)?\bbest\s*"
    r"(?:so\s+far\s*)?(?:trial|result|run|score|config(?:uration)?|one)?\s*(?:so\s+far\s*)?"
    r"(?:is|was|remains|being)?\s*(?:still\s+)?[:=(,]?\s*" + _REF,
    re.IGNORECASE,
)
# "#11 is the best", "trial 11 (0.94) was the best", "#11, the best", "#11 remains our best"
_REF_THEN_BEST = re.compile(
    _REF + r"\s*(?:\([^()]{0,40}\)\s*)?,?\s*(?:is|was|remains|stays|as)?\s*(?:still\s+)?"
    r"(?:the\s+|our\s+|currently\s+the\s+|current\s+)?(?:overall\s+)?best\b"
    r"(?!\s+(?:of|among|in|for|with|when)\b)",
    re.IGNORECASE,
)
# "#11 is better than #10", "#11 improved on #10", "trial 11 beats trial 10"
_BETTER_THAN = re.compile(
    _REF + r"\s*(?:\([^()]{0,40}\)\s*)?(?:is|was)?\s*(?:better\s+than|improved\s+(?:on|upon|over)"
    r"|improves\s+(?:on|upon|over)|beat|beats|outperform(?:ed|s)?)\s*(?:the\s+)?" + _REF,
    re.IGNORECASE,
)
# "#10 -> #11", "from trial 10 to trial 11"
_REF_PAIR = re.compile(_REF + r"\s*(?:\([^()]{0,40}\)\s*)?(?:->|→|=>|\bto\b)\s*" + _REF, re.I)
# "0.934 -> 0.932", "from 0.934 to 0.932"
_VALUE_PAIR = re.compile(
    r"(?<![\w.#])" + _NUM + r"\s*(?:->|→|=>|\bto\b)\s*" + _NUM + r"(?![\w.])", re.I
)
_IMPROVED = re.compile(r"\b(?:improv\w*|better|gain(?:s|ed)?|boost\w*)\b", re.IGNORECASE)
_NEGATED = re.compile(
    r"\b(?:no|not|never|without|worse|hurt|degrad\w*|regress\w*|instead)\b|n't\b", re.I
)
_HYPOTHETICAL = re.compile(
    r"\b(?:should|could|may|might|will|would|to|can|hope|expect\w*|aim\w*|try|trying)\s+"
    r"(?:\w+\s+)?$",
    re.IGNORECASE,
)
_THAN_BEFORE = re.compile(r"\bthan\s+(?:the\s+|our\s+)?(?:current\s+)?$", re.IGNORECASE)
_SENTENCE = re.compile(r"(?:[^.;!?]|\.(?=\d))+")


def _sentences(text: str) -> list[str]:
    """The sentences of ``text`` (a decimal point ends none)."""
    return [m.group() for m in _SENTENCE.finditer(text) if m.group().strip()]


def _better(a: float, b: float, direction: str) -> bool:
    return a > b if direction == "maximize" else a < b


def _fmt(x: float) -> str:
    return format(x, ".6g")


def _written(number: str, percent: str) -> tuple[float, float]:
    """A written number and half its last written digit (how far a stored value may be)."""
    value = float(number)
    mantissa = number.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(number.lower().split("e")[1]) if "e" in number.lower() else 0
    slack = 0.5 * 10.0 ** (exponent - decimals)
    if percent:
        return value / 100.0, slack / 100.0
    return value, slack


def _stored(number: str, percent: str, results: Mapping[int, float]) -> bool:
    """Whether some stored result rounds to the written number."""
    value, slack = _written(number, percent)
    return any(abs(v - value) <= slack * (1 + 1e-9) + 1e-12 for v in results.values())


def _claims_improvement(sentence: str, start: int, end: int) -> bool:
    """Whether the sentence calls the pair at ``[start, end)`` an improvement: an
    improvement word near it, neither negated nor hypothetical."""
    if _NEGATED.search(sentence):
        return False
    low, high = max(0, start - 40), min(len(sentence), end + 40)
    for m in _IMPROVED.finditer(sentence, low, high):
        if not _HYPOTHETICAL.search(sentence[max(0, m.start() - 24) : m.start()]):
            return True
    return False


def _best_claims(text: str, results: Mapping[int, float], direction: str, metric: str) -> list[str]:
    best_number = min(
        results, key=lambda n: (-results[n] if direction == "maximize" else results[n], n)
    )
    best = results[best_number]
    named: list[int] = []
    for m in _BEST_THEN_REF.finditer(text):
        if m.group(1) or _THAN_BEFORE.search(text[: m.start()]):
            continue  # "second best", "previous best", "better than the best"
        if re.match(r"\s*(?:,|and|&|or)\s*(?:trial\s*)?#?\s*\d", text[m.end() :]):
            continue  # several trials named together
        named.append(int(m.group(2)))
    for m in _REF_THEN_BEST.finditer(text):
        named.append(int(m.group(1)))
    out = []
    for number in dict.fromkeys(named):
        if number in results and not _better(best, results[number], direction):
            continue  # it is the best, or ties with it
        what = f"the best is #{best_number} ({metric}={_fmt(best)})"
        if number not in results:
            out.append(f"claims #{number} is the best; #{number} has no result, {what}")
        else:
            out.append(f"claims #{number} is the best; {what}")
    return out


def _improvement_claims(
    text: str, results: Mapping[int, float], direction: str, metric: str
) -> list[str]:
    way = f"{'higher' if direction == 'maximize' else 'lower'} {metric} is better"
    out: list[str] = []
    for sentence in _sentences(text):
        for m in _BETTER_THAN.finditer(sentence):
            if _NEGATED.search(sentence):
                break
            a, b = int(m.group(1)), int(m.group(2))
            if a in results and b in results and not _better(results[a], results[b], direction):
                out.append(
                    f"claims #{a} is better than #{b}; #{a} {metric}={_fmt(results[a])},"
                    f" #{b} {metric}={_fmt(results[b])} ({way})"
                )
        for m in _REF_PAIR.finditer(sentence):
            a, b = int(m.group(1)), int(m.group(2))
            if a not in results or b not in results:
                continue
            if not _claims_improvement(sentence, m.start(), m.end()):
                continue
            if not _better(results[b], results[a], direction):
                out.append(
                    f"calls #{a} -> #{b} an improvement; {metric} went"
                    f" {_fmt(results[a])} -> {_fmt(results[b])} ({way})"
                )
        for m in _VALUE_PAIR.finditer(sentence):
            x, px, y, py = (str(m.group(i) or "") for i in (1, 2, 3, 4))
            if bool(px) != bool(py) or x == y:
                continue
            if not (_stored(x, px, results) and _stored(y, py, results)):
                continue
            if not _claims_improvement(sentence, m.start(), m.end()):
                continue
            if _better(_written(x, px)[0], _written(y, py)[0], direction):
                out.append(f"calls {x}{px} -> {y}{py} an improvement; it is a loss ({way})")
    return out


def check_rationale(
    text: str,
    results: Mapping[int, float],
    *,
    direction: str,
    metric: str = "value",
) -> str | None:
    """What in ``text`` contradicts the stored results, in one line, or ``None``.

    Args:
        text: The rationale.
        results: ``{trial number: value}`` of the completed trials the LLM was shown (a
            single objective).
        direction: ``maximize`` or ``minimize``.
        metric: The metric's name, for the message.

    Returns:
        The contradictions joined by ``"; "``, or ``None`` when there is none (or no result
        to check against).
    """
    clean = {n: float(v) for n, v in results.items() if math.isfinite(float(v))}
    if not clean or not text:
        return None
    found = _best_claims(text, clean, direction, metric)
    found += _improvement_claims(text, clean, direction, metric)
    return "; ".join(dict.fromkeys(found)) or None

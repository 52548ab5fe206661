"""Scopes: which requests a rule applies to. A subject is a flat dict of attribution values
(``team``, ``key``, ``model``, ``tag:tier`` ...); a scope matches when every key matches one of its values
(exact, or a glob with ``*``/``?``/``[...]``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from fnmatch import translate

__all__ = ["Scope", "compile_scope", "subject_value"]

Scope = Callable[[Mapping[str, str]], bool]
_GLOB = re.compile(r"[*?\[]")


def subject_value(subject: Mapping[str, str], key: str) -> str | None:
    """A subject's value for a scope key (``tag:x`` reads the tag ``x``)."""
    return subject.get(key)


def compile_scope(scope: Mapping[str, str | list[str]]) -> Scope:
    """A fast predicate for one scope."""
    checks: list[tuple[str, frozenset[str], re.Pattern[str] | None]] = []
    for key, raw in scope.items():
        values = raw if isinstance(raw, list) else [raw]
        exact = frozenset(v for v in values if not _GLOB.search(v))
        globs = [v for v in values if _GLOB.search(v)]
        pattern = re.compile("|".join(f"(?:{translate(g)})" for g in globs)) if globs else None
        checks.append((key, exact, pattern))

    def matches(subject: Mapping[str, str]) -> bool:
        for key, exact, pattern in checks:
            value = subject.get(key)
            if value is None:
                return False
            if value in exact:
                continue
            if pattern is None or not pattern.match(value):
                return False
        return True

    return matches

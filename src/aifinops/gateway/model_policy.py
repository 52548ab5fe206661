"""Model rules: allow and deny lists with wildcards, routing of denied models to allowed ones, and a
``max_tokens`` ceiling that is injected when the request has none and enforced when it has one."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aifinops.budgets.policy import CompiledRule

__all__ = ["apply_model_rules", "max_tokens_field"]


def _any(model: str, patterns: list[str]) -> bool:
    return any(fnmatchcase(model, p) for p in patterns)


def _allowed(rule: Any, model: str) -> bool:
    if rule.deny and _any(model, rule.deny):
        return False
    return not rule.allow or _any(model, rule.allow)


def max_tokens_field(route: str, upstream_type: str, body: dict[str, Any]) -> str:
    """Which field limits output for this request."""
    if route == "messages":
        return "max_tokens"
    if route == "responses":
        return "max_output_tokens"
    for name in ("max_completion_tokens", "max_tokens"):
        if name in body:
            return name
    return "max_completion_tokens" if upstream_type in ("openai", "azure") else "max_tokens"


def apply_model_rules(
    rules: list[CompiledRule], body: dict[str, Any], route: str, upstream_type: str, notes: dict[str, Any]
) -> Any:
    """A refusal, a changed copy of the body, or None when nothing changes."""
    from aifinops.gateway.guard import Refused

    model = body["model"]
    changed: dict[str, Any] = {}
    for rule in rules:
        spec = rule.rule
        if not _allowed(spec, model):
            target = next((to for pattern, to in spec.route.items() if fnmatchcase(model, pattern)), None)
            if target is None or not _allowed(spec, target):
                allowed = ", ".join(spec.allow) if spec.allow else "anything not denied"
                return Refused(
                    403,
                    "model_policy",
                    rule.label,
                    f"model {model!r} is not allowed by model rule {rule.label!r} (allowed: {allowed})",
                )
            notes["routed_from"] = model
            model = changed["model"] = target
    ceilings = [r.rule for r in rules if r.rule.max_tokens is not None]
    if ceilings:
        field = max_tokens_field(route, upstream_type, body)
        ceiling = min(r.max_tokens for r in ceilings)
        strict = any(r.max_tokens_mode == "reject" and r.max_tokens == ceiling for r in ceilings)
        asked = body.get(field)
        if not isinstance(asked, int) or isinstance(asked, bool):
            changed[field] = ceiling
            notes["max_tokens_injected"] = ceiling
        elif asked > ceiling:
            if strict:
                label = next(r.label for r in rules if r.rule.max_tokens == ceiling)
                return Refused(
                    400,
                    "max_tokens",
                    label,
                    f"{field} {asked} is above the ceiling of {ceiling} set by model rule {label!r}",
                )
            changed[field] = ceiling
            notes["max_tokens_clamped"] = {"asked": asked, "ceiling": ceiling}
    if not changed:
        return None
    return {**body, **changed}

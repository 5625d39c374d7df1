"""`generationConfig.thinkingConfig` as Gemini checks and answers it: a budget (`thinkingBudget`:
-1 for dynamic, 0 for none where the model allows it, else up to 32,768) on Gemini 2.5 models, a
level (`thinkingLevel`) on Gemini 3 models, never both, and `includeThoughts`, which adds the
thoughts' summary before the answer as a part marked `thought: true`. The fake thinks only when
a request configures thinking (or on fake-every-token, whose usage always counts thoughts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_BUDGET = 32768
PRO_MIN_BUDGET = 128
LEVELS = ("minimal", "low", "medium", "high")
_FIELDS = {
    "thinkingBudget": "thinking_budget",
    "thinkingLevel": "thinking_level",
    "includeThoughts": "include_thoughts",
}


@dataclass(frozen=True, slots=True)
class Thinking:
    """Whether the reply thinks, and shows its thoughts' summary."""

    thinks: bool
    shown: bool


def read_thinking(
    config: dict[str, Any], model: str, violations: list[tuple[str, str]]
) -> Thinking:
    raw = config.get("thinkingConfig")
    if raw is None:
        return Thinking(thinks=False, shown=False)
    where = "generation_config.thinking_config"
    if not isinstance(raw, dict):
        violations.append((where, "thinking_config must be an object."))
        return Thinking(thinks=False, shown=False)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key if key in _FIELDS else next((k for k, v in _FIELDS.items() if v == key), None)
        if name is None:
            violations.append((f"{where}.{key}", f'Unknown name "{key}": Cannot find field.'))
        else:
            values[name] = value
    budget, level = values.get("thinkingBudget"), values.get("thinkingLevel")
    include = values.get("includeThoughts", False)
    gemini_3 = model.startswith("gemini-3")
    if not isinstance(include, bool):
        violations.append((f"{where}.include_thoughts", "include_thoughts must be a boolean."))
    if budget is not None and level is not None:
        violations.append(
            (where, "You can only set only one of thinking budget and thinking level.")
        )
    # the REST documentation writes the levels in lower case, the SDKs send the enum's names
    if level is not None and (str(level).lower() not in LEVELS or not gemini_3):
        message = "Thinking level is not supported for this model."
        violations.append((f"{where}.thinking_level", message if not gemini_3 else "invalid level"))
    if budget is not None:
        if type(budget) is not int or not -1 <= budget <= MAX_BUDGET:
            violations.append(
                (f"{where}.thinking_budget", f"thinking_budget must be in [-1, {MAX_BUDGET}].")
            )
        elif model == "gemini-2.5-pro" and 0 <= budget < PRO_MIN_BUDGET:
            violations.append(
                (
                    f"{where}.thinking_budget",
                    "Budget 0 is invalid. This model only works in thinking mode."
                    if budget == 0
                    else f"The thinking budget must be at least {PRO_MIN_BUDGET}.",
                )
            )
    thinks = budget != 0
    return Thinking(thinks=thinks, shown=thinks and include is True)


def thought_text(last_user: str) -> str:
    """The fake's summary of its thoughts: deterministic, so tests can expect it."""
    return f"Thinking about: {last_user}".strip()

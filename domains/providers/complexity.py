"""How hard a prompt looks: the rule-based scorer behind the `auto` virtual model.

`RuleClassifier` reads a request body in any dialect the gateway takes (OpenAI chat, Anthropic
Messages, OpenAI Responses, legacy completions, Gemini) and sorts it into one of four tiers,
SIMPLE < MEDIUM < COMPLEX < REASONING, from signals that cost microseconds to find:

- length: the prompt's characters (every text of the conversation, system included), / 4 as
  tokens;
- code: fences, definitions, imports, statements;
- maths: formulas, LaTeX, arithmetic, mathematical words;
- reasoning cues: "prove", "derive", "step by step", "trade-offs"...;
- multi-step: numbered or bulleted steps, "then", "finally";
- tools offered, and the conversation's depth (its turns).

Only the first `HEAD` and the last `TAIL` characters are searched for cues (the latest turn is
last in every dialect), so a long prompt costs no more than a short one. Every signal only grows
as text is added, and the tier only grows with the signals.

Another classifier (a small model, a remote service) plugs in behind `PromptClassifier`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Tier = Literal["simple", "medium", "complex", "reasoning"]
TIERS: tuple[Tier, ...] = ("simple", "medium", "complex", "reasoning")

HEAD = 500
TAIL = 2000
CHARS_PER_TOKEN = 4

# where a prompt's text is in each dialect's body
_PROMPT_KEYS = (
    "messages",  # OpenAI chat, Anthropic Messages
    "contents",  # Gemini
    "input",  # OpenAI Responses
    "prompt",  # legacy completions
    "system",  # Anthropic Messages
    "instructions",  # OpenAI Responses
    "systemInstruction",  # Gemini
    "system_instruction",
)
_TURN_KEYS = ("messages", "contents", "input")
# members that hold no prompt text: ids, roles, kinds, images, audio, files, signatures
_NOT_TEXT = frozenset(
    {
        "role",
        "type",
        "id",
        "name",
        "model",
        "call_id",
        "tool_call_id",
        "tool_use_id",
        "url",
        "image_url",
        "image",
        "input_image",
        "input_audio",
        "input_file",
        "file_id",
        "file_data",
        "fileData",
        "inline_data",
        "inlineData",
        "data",
        "source",
        "media_type",
        "mime_type",
        "mimeType",
        "detail",
        "cache_control",
        "signature",
        "thoughtSignature",
        "status",
    }
)

_PUNCTUATION = str.maketrans(dict.fromkeys(".,;:!?()[]{}\"'`<>=*/\\|&%$@~^", " "))
_ARITHMETIC = re.compile(r"\d\s*[-+*/^=<>]\s*\d")
_STEP_LINE = re.compile(r"^[ \t]*(?:\d+[.)]|[-*•])[ \t]", re.MULTILINE)


def _kinds(kind: str, words: str) -> dict[str, str]:
    return dict.fromkeys(words.split(), kind)


_WORD_KIND: dict[str, str] = {
    **_kinds(
        "code",
        "function python javascript typescript rust golang java sql c++ bash kotlin traceback "
        "segfault regex",
    ),
    **_kinds(
        "maths",
        "integral integrals derivative derivatives equation equations matrix matrices "
        "probability probabilities theorem lemma prime primes polynomial polynomials variance "
        "eigenvalue eigenvalues eigenvector eigenvectors modulo calculus solve",
    ),
    **_kinds("strong", "prove proof derive rigorous rigorously formally"),
    **_kinds(
        "cue",
        "why explain analyse analyze analysis analysing analyzing compare compared comparing "
        "comparison tradeoff tradeoffs trade-off trade-offs justify evaluate design architecture "
        "architectural optimise optimize optimisation optimization optimising optimizing debug "
        "debugging refactor refactoring implement implementation implementing plan review "
        "reviewing bug bugs",
    ),
    **_kinds("step", "then finally"),
}
_PHRASES: tuple[tuple[str, str, str], ...] = (
    # (kind, phrase, a word the phrase holds: the phrase is looked for only if the word is there)
    ("code", "```", ""),
    ("code", "=>", ""),
    ("code", "def ", "def"),
    ("code", "class ", "class"),
    ("code", "#include", "#include"),
    ("code", "import ", "import"),
    ("code", "console.log", "console"),
    ("code", "public static", "public"),
    ("code", "return ", "return"),
    ("code", "select ", "select"),
    ("code", "stack trace", "stack"),
    ("maths", "\\frac", "\\"),
    ("maths", "\\int", "\\"),
    ("maths", "\\sum", "\\"),
    ("maths", "\\sqrt", "\\"),
    ("strong", "step by step", "step"),
    ("strong", "step-by-step", "step-by-step"),
    ("strong", "think through", "think"),
    ("strong", "think it through", "think"),
    ("strong", "reason through", "reason"),
    ("strong", "think carefully", "think"),
    ("strong", "show that", "show"),
    ("strong", "work out", "work"),
    ("cue", "pros and cons", "pros"),
    ("cue", "unit test", "unit"),
    ("step", "after that", "after"),
    ("step", "next,", "next"),
)


@dataclass(frozen=True, slots=True)
class Signals:
    """What the scorer found in a prompt."""

    prompt_tokens: int
    code: int = 0
    maths: int = 0
    strong: int = 0
    cues: int = 0
    steps: int = 0
    tools: bool = False
    turns: int = 0


@dataclass(frozen=True, slots=True)
class Classified:
    tier: Tier
    score: int
    """The points the tier was read from (higher: harder)."""
    signals: Signals


class PromptClassifier(Protocol):
    """Sorts a request body (in any dialect) into a tier; must never raise on any JSON object."""

    def classify(self, body: Mapping[str, Any]) -> Classified: ...


class RuleClassifier:
    """The default classifier: points per signal, thresholds per tier (docs/routing.md)."""

    def classify(self, body: Mapping[str, Any]) -> Classified:
        signals = read_signals(body)
        score = points(signals)
        return Classified(tier_of(signals, score), score, signals)


def read_signals(body: Mapping[str, Any]) -> Signals:
    texts: list[str] = []
    turns = 0
    for key in _PROMPT_KEYS:
        part = body.get(key)
        if part is None:
            continue
        if key in _TURN_KEYS and isinstance(part, list):
            turns += len(part)
        _collect(part, texts, 0)
    total = sum(len(text) for text in texts)
    searched = _window(texts, total).lower()
    found = {"code": 0, "maths": 0, "strong": 0, "cue": 0, "step": 0}
    words = searched.translate(_PUNCTUATION).split()
    present = set(words)
    present.add("")  # the gate of a phrase looked for always
    if "\\" in searched:
        present.add("\\")
    for word in _WORD_KIND.keys() & present:
        found[_WORD_KIND[word]] += words.count(word)
    for kind, phrase, gate in _PHRASES:
        if gate in present and phrase in searched:
            found[kind] += searched.count(phrase)
    found["maths"] += len(_ARITHMETIC.findall(searched))
    found["step"] += len(_STEP_LINE.findall(searched))
    tools = bool(body.get("tools")) or bool(body.get("functions"))
    return Signals(
        prompt_tokens=total // CHARS_PER_TOKEN,
        code=found["code"],
        maths=found["maths"],
        strong=found["strong"],
        cues=found["cue"],
        steps=found["step"],
        tools=tools,
        turns=turns,
    )


def points(signals: Signals) -> int:
    """Length 0-3, code 0-2, maths 0-2, strong reasoning cues 0-4 (2 each), other cues 0-3,
    steps 0-2, tools 0-1, depth 0-2."""
    tokens = signals.prompt_tokens
    score = (tokens >= 50) + (tokens >= 400) + (tokens >= 2000)
    score += min(signals.code, 2)
    score += min(signals.maths, 2)
    score += min(2 * signals.strong, 4)
    score += min(signals.cues, 3)
    score += (signals.steps >= 2) + (signals.steps >= 4)
    score += signals.tools
    score += (signals.turns >= 6) + (signals.turns >= 12)
    return int(score)


def tier_of(signals: Signals, score: int) -> Tier:
    """REASONING: 9 points or more, or 3 or more with a strong reasoning cue beside maths, code,
    steps or a second strong cue; COMPLEX: 5 points or more; MEDIUM: 2 or more; else SIMPLE."""
    beside = signals.maths or signals.code or signals.steps >= 2 or signals.strong >= 2
    if score >= 9 or (signals.strong and beside and score >= 3):
        return "reasoning"
    if score >= 5:
        return "complex"
    if score >= 2:
        return "medium"
    return "simple"


def _collect(value: Any, texts: list[str], depth: int) -> None:
    if depth > 32:  # JSON this deep is no prompt: what is below it is not read
        return
    if isinstance(value, str):
        texts.append(value)
    elif isinstance(value, list):
        for item in value:
            _collect(item, texts, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in _NOT_TEXT:
                _collect(item, texts, depth + 1)


def _window(texts: list[str], total: int) -> str:
    """The first HEAD and the last TAIL characters of the prompt's texts, newline-joined."""
    if total <= HEAD + TAIL:
        return "\n".join(texts)
    head: list[str] = []
    left = HEAD
    for text in texts:
        head.append(text[:left])
        left -= len(head[-1])
        if left <= 0:
            break
    tail: list[str] = []
    left = TAIL
    for text in reversed(texts):
        tail.append(text[-left:])
        left -= len(tail[-1])
        if left <= 0:
            break
    return "\n".join(head) + "\n" + "\n".join(reversed(tail))

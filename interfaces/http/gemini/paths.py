"""Where Gemini's API is served: the path prefixes, the methods that follow a model's name, and
which requests are answered (errors included) in Google's shape."""

from __future__ import annotations

PREFIXES = ("/v1beta/models/", "/v1/models/")
"""`/v1beta` is Google's; `/v1` is what the google-genai SDK asks for unless told otherwise."""
METHODS = (
    "generateContent",
    "streamGenerateContent",
    "countTokens",
    "embedContent",
    "batchEmbedContents",
)


def is_gemini_path(method: str, path: str, goog_key: bool = False) -> bool:
    """Whether a request is for Gemini's API: anything under `/v1beta/`, a POST under
    `/v1/models/`, and the model listing (`/v1/models`, `/v1/models/{id}`) asked with
    `x-goog-api-key` (`goog_key`), as the google-genai SDK does; the OpenAI routes under `/v1`
    keep their own shape."""
    if path.startswith("/v1beta/") or (method == "POST" and path.startswith(PREFIXES[1])):
        return True
    return goog_key and (path == "/v1/models" or path.startswith(PREFIXES[1]))


def route_label(path: str) -> str | None:
    """The metrics label of a Gemini method's path (its model left out, so labels stay few);
    None for any other path."""
    if not path.startswith(PREFIXES):
        return None
    method = path.rpartition(":")[2]
    return f"/v1beta/models/*:{method}" if method in METHODS else None

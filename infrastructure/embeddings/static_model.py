"""A static embedding model that ships inside a Python package and runs on the CPU, nothing
downloaded at run time: WordLlama's `l2_supercat` (256 dimensions, a 32,000-token vocabulary,
16 MB of float16 weights in the `wordllama` wheel, with its tokenizer).

A text's embedding is the mean of its tokens' vectors, normalised: ~25 µs for a question, so
it runs on the event loop. Loading (~1 s: `tokenizers`, the weights made float32) happens once
per process, in a thread, on the first question: the gateway starts as fast without it. The
files are read from the package directly (its own loader looks for the tokenizer elsewhere and
then downloads it)."""

from __future__ import annotations

import asyncio
import importlib.resources
import threading
from typing import Any

MODEL = "wordllama/l2_supercat_256"
DIMENSIONS = 256
MAX_TOKENS = 512
"""A longer question is embedded by its first tokens."""


class StaticModel:
    """The loaded model: `vector(text)` is its normalised embedding (float32 bytes)."""

    def __init__(self) -> None:
        import numpy as np
        from safetensors import safe_open
        from tokenizers import Tokenizer

        files = importlib.resources.files("wordllama")
        tokenizer = Tokenizer.from_file(
            str(files / "tokenizers" / "l2_supercat_tokenizer_config.json")
        )
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        with safe_open(
            str(files / "weights" / "l2_supercat_256.safetensors"), framework="np"
        ) as weights:
            table = weights.get_tensor("embedding.weight")
        self._np = np
        self._tokenizer = tokenizer
        self._table = np.ascontiguousarray(table[:, :DIMENSIONS], dtype=np.float32)

    def array(self, text: str) -> Any:
        np = self._np
        ids = self._tokenizer.encode(text, add_special_tokens=False).ids
        if not ids:
            return np.zeros(DIMENSIONS, dtype=np.float32)
        mean = self._table[ids].mean(axis=0)
        size = float(np.linalg.norm(mean))
        return mean / size if size else mean

    def vector(self, text: str) -> bytes:
        return bytes(self.array(text).astype(self._np.float32).tobytes())


_loaded: StaticModel | None = None
_loading = threading.Lock()


def load() -> StaticModel:
    """The process's model, loaded on the first call (the others wait for it)."""
    global _loaded
    with _loading:
        if _loaded is None:
            _loaded = StaticModel()
    return _loaded


class StaticEmbedder:
    """The `Embedder` of `cache.semantic.embeddings: local`."""

    name = MODEL

    async def embed(self, text: str) -> bytes:
        model = _loaded if _loaded is not None else await asyncio.to_thread(load)
        return model.vector(text)

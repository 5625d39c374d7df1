"""Conservative token estimates for media whose cost cannot be known without decoding it
(images, PDFs, audio): the prompt counter reserves budget with them, and settling uses the
upstream's usage."""

from __future__ import annotations

IMAGE_TOKENS = 5_000
"""One image of unknown size. Upper bounds of the published formulas: OpenAI's tiles, 85 +
170 per 512-px tile after scaling into 2048 px and the short side to 768 px, reach at most 8
tiles = 1,445; its 32-px patches cap at 1,536 patches (x2.46 for gpt-4.1-nano = 3,779);
Anthropic's (w*h)/750 is ~1,600 with the 1568-px long edge cap, and ~5,000 for models that
read 2576-px images (about 3.75 MP / 750). Not a bound for models whose image tokens are
multiplied to match another model's price (gpt-4o-mini's reach 48,169)."""

PDF_PAGE_TOKENS = 4_600
"""One PDF page: up to ~3,000 text tokens (Anthropic's figure for dense pages) plus the page
rendered as an image at the ~1,600-token cap."""
PDF_BYTES_PER_PAGE = 25_000
"""A guess at a compressed page's size, to estimate the page count of PDF bytes."""
PDF_MAX_PAGES = 100
"""Anthropic's limit of PDF pages per request: a larger count could not be sent anyway."""
UNSEEN_DOCUMENT_PAGES = 10
"""Pages assumed for a document given by URL or file id, whose size is not in the body."""
AUDIO_TOKENS_PER_SECOND = 10
AUDIO_BYTES_PER_SECOND = 4_000
"""32 kbit/s, the low end of speech encodings: the longest an audio clip of a size can last."""


def pdf_tokens(data: object) -> int:
    """A PDF given as base64 (or a data: URL), else one whose size is not in the body."""
    if isinstance(data, str) and data:
        pages = 1 + len(data) * 3 // 4 // PDF_BYTES_PER_PAGE
    else:
        pages = UNSEEN_DOCUMENT_PAGES
    return min(pages, PDF_MAX_PAGES) * PDF_PAGE_TOKENS


def audio_tokens(data: str) -> int:
    """Base64 audio: the longest it can play at the lowest bitrate, in audio tokens."""
    seconds = -(-(len(data) * 3 // 4) // AUDIO_BYTES_PER_SECOND)
    return seconds * AUDIO_TOKENS_PER_SECOND

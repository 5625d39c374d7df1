"""OpenAI `image_url` content parts → Gemini `inlineData` parts (pure).

Gemini takes image bytes inline: the adapter downloads the http(s) URLs `http_image_urls` lists
before translating, and base64 data URLs are passed through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.gemini_values import obj


def _image_url_of(part: Mapping[str, Any]) -> Any:
    image = part.get("image_url")
    return image.get("url") if isinstance(image, Mapping) else image


def _is_http(url: str) -> bool:
    return url[:8].lower().startswith(("http://", "https://"))


def http_image_urls(body: dict[str, Any]) -> list[str]:
    """The http(s) image URLs of the messages, in order, each once: the adapter downloads them
    before `chat_request`, since Gemini takes image bytes inline. Never raises."""
    messages = body.get("messages")
    urls: dict[str, None] = {}
    for message in messages if isinstance(messages, list) else ():
        content = obj(message).get("content")
        for part in content if isinstance(content, list) else ():
            if isinstance(part, Mapping) and part.get("type") == "image_url":
                url = _image_url_of(part)
                if isinstance(url, str) and _is_http(url):
                    urls[url] = None
    return list(urls)


def _data_url(url: str, param: str) -> dict[str, Any]:
    header, comma, data = url[5:].partition(",")
    mime, _, encoding = header.partition(";")
    if not comma or encoding.lower() != "base64" or not mime or not data:
        raise InvalidRequest(
            "A data URL must look like `data:<mime type>;base64,<data>`.", param=param
        )
    return {"inlineData": {"mimeType": mime.strip().lower(), "data": data.strip()}}


def image_part(
    part: Mapping[str, Any], fetched: Mapping[str, tuple[str, str]], param: str
) -> dict[str, Any]:
    url = _image_url_of(part)
    param = f"{param}.image_url"
    if not isinstance(url, str):
        raise InvalidRequest("`image_url.url` must be a string.", param=param)
    if url[:5].lower() == "data:":
        return _data_url(url, param)
    if _is_http(url):
        if url not in fetched:
            raise InvalidRequest(f"The image at `{url[:200]}` could not be fetched.", param=param)
        mime, data = fetched[url]
        return {"inlineData": {"mimeType": mime, "data": data}}
    raise InvalidRequest("An image must be an http(s) URL or a base64 data URL.", param=param)

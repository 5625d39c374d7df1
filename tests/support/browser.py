"""A scripted browser: follows redirects one at a time (so a test can look at, or tamper with,
each hop), keeps cookies, and fills in the identity provider's forms."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin

import httpx

_FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S)
_INPUT = re.compile(r"<input[^>]*>", re.S)
_ATTR = re.compile(r'(\w+)="([^"]*)"')


class Browser:
    def __init__(self) -> None:
        self.http = httpx.Client(timeout=15, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get(self, url: str) -> httpx.Response:
        return self.http.get(url)

    def follow(self, response: httpx.Response, *, until: str | None = None) -> httpx.Response:
        """Follows redirects until a page that is no redirect, or until the next hop's URL
        starts with `until` (that hop's response is returned unfollowed)."""
        while response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if until is not None and target.startswith(until):
                return response
            response = self.http.get(target)
        return response

    def submit(self, page: httpx.Response, fields: dict[str, str]) -> httpx.Response:
        """Posts the page's first form with its hidden fields and `fields`."""
        match = _FORM.search(page.text)
        assert match is not None, page.text[:500]
        action, body = unescape(match.group(1)), match.group(2)
        data: dict[str, str] = {}
        for tag in _INPUT.findall(body):
            attributes = dict(_ATTR.findall(tag))
            if "name" in attributes and "value" in attributes:
                data[attributes["name"]] = unescape(attributes["value"])
        data.update(fields)
        return self.http.post(urljoin(str(page.url), action), data=data)

"""The API documentation under /schema works with no internet: each page's scripts, style sheets
and icons come from the gateway itself, and each of them answers."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from tests.support.gateway import GatewayProcess

PAGES = ("/schema", "/schema/redoc", "/schema/swagger")


@pytest.fixture(scope="module")
def docs_embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess(
        tmp_path_factory.mktemp("docs-embedded"),
        None,
        admin_key="fradm-" + secrets.token_urlsafe(32),
    )
    gateway.start()
    yield gateway
    gateway.stop()


@pytest.fixture(params=["docs_embedded", "gateway"])
def served(request: pytest.FixtureRequest) -> GatewayProcess:
    if request.param == "gateway":
        request.applymarker(pytest.mark.postgres)
    gateway: GatewayProcess = request.getfixturevalue(request.param)
    return gateway


class References(HTMLParser):
    """Every address a page makes the browser fetch: scripts, style sheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name) and (tag != "a"):
                self.found.append(str(values[name]))


def references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("page", PAGES)
def test_every_asset_of_a_docs_page_is_served_by_the_gateway(
    served: GatewayProcess, page: str
) -> None:
    with httpx.Client(base_url=served.base_url, timeout=30) as http:
        answer = http.get(page)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        found = references(answer.text)
        assert any(ref.endswith(".js") for ref in found), found
        for ref in found:
            assert not re.match(r"(https?:)?//", ref), f"{page} loads {ref} from another host"
            asset = http.get(ref)
            assert asset.status_code == 200, ref
            assert len(asset.content) > 0, ref
        assert "googleapis" not in answer.text
        assert "cdn." not in answer.text


def test_the_redoc_bundle_names_no_cdn(served: GatewayProcess) -> None:
    script = httpx.get(f"{served.base_url}/schema/assets/redoc.standalone.js", timeout=30)
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "cdn.redoc.ly" not in script.text
    logo = httpx.get(f"{served.base_url}/schema/assets/redoc-logo-mini.svg", timeout=30)
    assert logo.status_code == 200


def test_an_unknown_asset_is_a_404_problem(served: GatewayProcess) -> None:
    answer = httpx.get(f"{served.base_url}/schema/assets/../../etc/passwd", timeout=30)
    assert answer.status_code == 404
    answer = httpx.get(f"{served.base_url}/schema/assets/secret.key", timeout=30)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")

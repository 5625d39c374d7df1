"""The app's named dependencies: each handler gets the container's own object, untouched, and
no dependency shows in the OpenAPI document."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from litestar import Litestar, get
from litestar.testing import TestClient

from application.teams.access import Principal
from interfaces.http.admin.scoping import Visibility
from interfaces.http.dependencies import (
    AppSettings,
    Bus,
    Caller,
    Completions,
    ContainerPlugin,
    Engine,
    KeyHolder,
    Ledger,
    ProviderClients,
    Sso,
    Visible,
)
from interfaces.http.errors import handle_exception

SEEN: dict[str, Any] = {}


class _Protocolish:
    """Stands for an object whose type is a Protocol, which no isinstance check could take."""


def _container() -> Any:
    return SimpleNamespace(
        bus=object(),
        engine=object(),
        settings=object(),
        catalog=object(),
        clients={"openai": _Protocolish()},
        relay=object(),
        metrics=object(),
        sso=None,
        audit_key=None,
        checkpointer=None,
        ledger=_Protocolish(),
    )


async def _as_admin(connection: Any, _handler: Any) -> None:
    connection.scope.setdefault("state", {})["principal"] = Principal(actor="admin", role="owner")


@get("/probe", guards=[_as_admin])
async def probe(
    bus: Bus,
    engine: Engine,
    settings: AppSettings,
    clients: ProviderClients,
    sso: Sso,
    ledger: Ledger,
    principal: Caller,
    visible: Visible,
    q: int = 0,
) -> dict[str, int]:
    SEEN.update(
        bus=bus,
        engine=engine,
        settings=settings,
        clients=clients,
        sso=sso,
        ledger=ledger,
        principal=principal,
        visible=visible,
    )
    return {"q": q}


def test_handlers_get_the_containers_objects_as_they_are() -> None:
    container = _container()
    app = Litestar([probe], plugins=[ContainerPlugin(container)])
    with TestClient(app) as client:
        answer = client.get("/probe?q=3")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"q": 3}
    assert SEEN["bus"] is container.bus
    assert SEEN["engine"] is container.engine
    assert SEEN["settings"] is container.settings
    assert SEEN["clients"] is container.clients
    assert SEEN["sso"] is None
    assert SEEN["ledger"] is container.ledger
    assert SEEN["principal"] == Principal(actor="admin", role="owner")
    assert isinstance(SEEN["visible"], Visibility)
    assert SEEN["visible"].engine is container.engine
    assert SEEN["visible"].principal == SEEN["principal"]
    assert app.state.container is container


def test_no_dependency_reaches_the_openapi_document() -> None:
    app = Litestar([probe], plugins=[ContainerPlugin(_container())])
    operation = app.openapi_schema.to_schema()["paths"]["/probe"]["get"]
    assert [parameter["name"] for parameter in operation["parameters"]] == ["q"]


def test_a_container_without_a_ledger_provides_none() -> None:
    container = _container()
    del container.ledger
    app = Litestar([probe], plugins=[ContainerPlugin(container)])
    with TestClient(app) as client:
        assert client.get("/probe").status_code == 200
    assert SEEN["ledger"] is None


class _Authenticator:
    """Knows one key, and its caller."""

    def __init__(self, secret: str, caller: object) -> None:
        self.secret, self.caller = secret, caller

    def knows(self, secret: str) -> bool:
        return secret == self.secret

    async def authenticate(self, secret: str) -> object | None:
        return self.caller if secret == self.secret else None


class _Refusals:
    def __init__(self) -> None:
        self.noted: list[tuple[Any, ...]] = []

    def note(self, key: tuple[Any, ...], make: Any, **_: Any) -> None:
        self.noted.append(key)


class _Throttle:
    def retry_after(self, _source_ip: str) -> int | None:
        return None

    def refused(self, _source_ip: str) -> None:
        pass


@get("/v1/probe")
async def v1_probe(key_holder: KeyHolder, completions: Completions) -> dict[str, bool]:
    SEEN.update(key_holder=key_holder, completions=completions)
    return {"ok": True}


def _v1_app() -> tuple[Litestar, Any]:
    container = _container()
    container.completions = object()
    container.authenticator = _Authenticator("sk-fr-known", caller=object())
    container.access_refusals = _Refusals()
    container.refusal_throttle = _Throttle()
    app = Litestar(
        [v1_probe],
        plugins=[ContainerPlugin(container)],
        exception_handlers={Exception: handle_exception},
    )
    return app, container


def test_v1_handlers_get_the_key_holder_and_the_pipeline() -> None:
    app, container = _v1_app()
    with TestClient(app) as client:
        answer = client.get("/v1/probe", headers={"x-api-key": "sk-fr-known"})
    assert answer.status_code == 200, answer.text
    assert SEEN["key_holder"] is container.authenticator.caller
    assert SEEN["completions"] is container.completions


def test_resolving_the_key_holder_refuses_a_missing_or_unknown_key() -> None:
    app, container = _v1_app()
    SEEN.clear()
    with TestClient(app) as client:
        missing = client.get("/v1/probe")
        unknown = client.get("/v1/probe", headers={"authorization": "Bearer sk-fr-other"})
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "missing_api_key"
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "invalid_api_key"
    assert "key_holder" not in SEEN  # the handler never ran
    assert [key[2] for key in container.access_refusals.noted] == ["missing", "malformed"]

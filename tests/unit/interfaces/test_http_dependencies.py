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
    ContainerPlugin,
    Engine,
    Ledger,
    ProviderClients,
    Sso,
    Visible,
)

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

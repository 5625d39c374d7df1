"""Every event round-trips through the outbox codec exactly, tagged with its class name."""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import domains
from domains.billing import events as billing
from domains.conversations import events as conversations
from domains.providers import events as providers
from domains.shared import delivery
from domains.shared.events import Event
from domains.teams import events as teams
from infrastructure.db.event_codec import EventCodec, all_event_types
from tests.support.events import completion, usage
from tests.support.every_event import one_of_each

CODEC = EventCodec(all_event_types())


def _all_event_subclasses() -> set[type[Event]]:
    for module in pkgutil.walk_packages(domains.__path__, "domains."):
        importlib.import_module(module.name)
    found: set[type[Event]] = set()
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("domains."):  # not the tests' own events
            found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_samples_cover_every_registered_event_type() -> None:
    assert {type(event) for event in one_of_each()} == set(all_event_types())


def test_codec_knows_every_event_defined_in_the_domain() -> None:
    assert _all_event_subclasses() == set(all_event_types())


def test_every_event_is_exported_by_exactly_one_context() -> None:
    exported = Counter(
        event_type
        for module in (teams, billing, conversations, providers, delivery)
        for event_type in module.EVENTS
    )
    assert set(exported) == _all_event_subclasses()
    assert [t.__name__ for t, n in exported.items() if n > 1] == []
    assert len(all_event_types()) == len(exported)


def test_the_teams_events_are_importable_from_the_package() -> None:
    assert {name for name in teams.__all__ if name != "EVENTS"} == {
        t.__name__ for t in teams.EVENTS
    }
    assert all(getattr(teams, t.__name__) is t for t in teams.EVENTS)


@pytest.mark.parametrize("event", one_of_each(), ids=lambda e: type(e).__name__)
def test_every_event_round_trips(event: Event) -> None:
    payload = CODEC.encode(event)
    decoded = CODEC.decode(payload)
    assert type(decoded) is type(event)
    assert decoded == event
    assert decoded.event_id == event.event_id
    assert decoded.occurred_at == event.occurred_at
    assert decoded.occurred_at.tzinfo is not None
    assert CODEC.decode(payload.decode()) == event  # str payloads too
    assert msgspec.json.decode(payload)["type"] == type(event).__name__


def test_codec_maps_names_to_types() -> None:
    assert CODEC.types == {t.__name__: t for t in all_event_types()}


def test_cost_is_written_as_a_decimal_string_and_read_back_exactly() -> None:
    event = usage(cost_usd=Decimal("0.000525300000001"))
    raw = msgspec.json.decode(CODEC.encode(event))
    assert raw["cost_usd"] == "0.000525300000001"
    decoded = CODEC.decode(CODEC.encode(event))
    assert isinstance(decoded.cost_usd, Decimal)  # type: ignore[attr-defined]
    assert str(decoded.cost_usd) == "0.000525300000001"  # type: ignore[attr-defined]


@given(
    st.decimals(
        min_value=Decimal(0),
        max_value=Decimal(10**6),
        places=15,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_any_cost_round_trips_exactly(cost: Decimal) -> None:
    decoded = CODEC.decode(CODEC.encode(usage(cost_usd=cost)))
    assert decoded.cost_usd == cost  # type: ignore[attr-defined]
    assert str(decoded.cost_usd) == str(cost)  # type: ignore[attr-defined]


@given(
    input_tokens=st.integers(0, 2**40),
    output_tokens=st.integers(0, 2**40),
    endpoint=st.sampled_from(["chat", "embeddings"]),
    outcome=st.sampled_from(["ok", "error", "cancelled"]),
    user_id=st.none() | st.text(max_size=20),
    latency=st.floats(0, 1e6, allow_nan=False),
)
def test_completions_round_trip(
    input_tokens: int,
    output_tokens: int,
    endpoint: str,
    outcome: str,
    user_id: str | None,
    latency: float,
) -> None:
    event = completion(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        endpoint=endpoint,
        outcome=outcome,
        user_id=user_id,
        latency_ms=latency,
    )
    assert CODEC.decode(CODEC.encode(event)) == event


def test_unknown_type_tag_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        CODEC.decode(b'{"type":"SomethingElse","event_id":"x"}')


def test_a_codec_without_a_type_cannot_decode_it() -> None:
    narrow = EventCodec([type(completion())])
    with pytest.raises(msgspec.ValidationError):
        narrow.decode(CODEC.encode(usage()))


def test_literal_fields_are_validated_on_decode() -> None:
    raw = msgspec.json.decode(CODEC.encode(completion()))
    raw["outcome"] = "exploded"
    with pytest.raises(msgspec.ValidationError):
        CODEC.decode(msgspec.json.encode(raw))

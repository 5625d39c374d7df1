"""The key authenticator's cache: hits, misses, forgetting, expiry and its bound."""

from __future__ import annotations

import asyncio

import pytest

import application.teams.authenticate as authenticate_module
from application.teams.authenticate import KeyAuthenticator
from domains.shared.caller import Caller
from domains.teams.model import hash_secret
from tests.support.clock import FakeClock


def secret(n: int) -> str:
    return f"fr-{n:040d}"


def caller_for(n: int) -> Caller:
    return Caller(key_id=f"key-{n}", key_prefix=secret(n)[:11], team_id="t", org_id="o")


class FakeLookup:
    def __init__(self, known: dict[str, Caller] | None = None) -> None:
        self.known = dict(known or {})
        self.calls: list[str] = []

    async def find_active(self, secret_hash: str) -> Caller | None:
        self.calls.append(secret_hash)
        return self.known.get(secret_hash)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock()
    monkeypatch.setattr(authenticate_module.time, "monotonic", clock)
    return clock


def lookup_of(*numbers: int) -> FakeLookup:
    return FakeLookup({hash_secret(secret(n)): caller_for(n) for n in numbers})


async def test_a_known_key_is_looked_up_once_then_cached(clock: FakeClock) -> None:
    lookup = lookup_of(1)
    auth = KeyAuthenticator(lookup)
    assert await auth.authenticate(secret(1)) == caller_for(1)
    assert await auth.authenticate(secret(1)) == caller_for(1)
    assert await auth.authenticate(secret(1)) == caller_for(1)
    assert lookup.calls == [hash_secret(secret(1))]  # by hash, never the secret


async def test_an_unknown_key_is_cached_negatively(clock: FakeClock) -> None:
    lookup = lookup_of()
    auth = KeyAuthenticator(lookup, negative_ttl=5.0)
    assert await auth.authenticate(secret(9)) is None
    assert await auth.authenticate(secret(9)) is None
    assert len(lookup.calls) == 1


async def test_the_negative_entry_expires_so_a_new_key_is_found(clock: FakeClock) -> None:
    lookup = lookup_of()
    auth = KeyAuthenticator(lookup, ttl=60.0, negative_ttl=5.0)
    assert await auth.authenticate(secret(2)) is None
    lookup.known[hash_secret(secret(2))] = caller_for(2)  # issued just after
    clock.now += 4.9
    assert await auth.authenticate(secret(2)) is None
    clock.now += 0.2
    assert await auth.authenticate(secret(2)) == caller_for(2)
    assert len(lookup.calls) == 2


async def test_a_positive_entry_lives_ttl_seconds(clock: FakeClock) -> None:
    lookup = lookup_of(1)
    auth = KeyAuthenticator(lookup, ttl=60.0)
    await auth.authenticate(secret(1))
    clock.now += 59.0
    await auth.authenticate(secret(1))
    assert len(lookup.calls) == 1
    del lookup.known[hash_secret(secret(1))]  # revoked in another process
    clock.now += 2.0
    assert await auth.authenticate(secret(1)) is None
    assert len(lookup.calls) == 2


async def test_forget_key_forces_a_fresh_lookup(clock: FakeClock) -> None:
    lookup = lookup_of(1, 2)
    auth = KeyAuthenticator(lookup)
    await auth.authenticate(secret(1))
    await auth.authenticate(secret(2))
    del lookup.known[hash_secret(secret(1))]

    auth.forget_key("key-1")

    assert await auth.authenticate(secret(1)) is None
    assert await auth.authenticate(secret(2)) == caller_for(2)  # the other stays cached
    assert lookup.calls.count(hash_secret(secret(1))) == 2
    assert lookup.calls.count(hash_secret(secret(2))) == 1


async def test_forget_unknown_key_is_harmless(clock: FakeClock) -> None:
    lookup = lookup_of(1)
    auth = KeyAuthenticator(lookup)
    await auth.authenticate(secret(1))
    auth.forget_key("never-seen")
    await auth.authenticate(secret(1))
    assert len(lookup.calls) == 1


async def test_forget_all_empties_the_cache(clock: FakeClock) -> None:
    lookup = lookup_of(1)
    auth = KeyAuthenticator(lookup)
    await auth.authenticate(secret(1))
    auth.forget_all()
    await auth.authenticate(secret(1))
    assert len(lookup.calls) == 2


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sk-" + "a" * 48,
        "Bearer fr-" + "a" * 40,
        "fr-short",
        "FR-" + "a" * 40,
        "a" * 64,
    ],
)
async def test_non_virtual_keys_are_refused_without_a_lookup(clock: FakeClock, value: str) -> None:
    lookup = lookup_of()
    auth = KeyAuthenticator(lookup)
    assert await auth.authenticate(value) is None
    assert lookup.calls == []


async def test_the_cache_is_bounded_and_evicts_the_oldest(clock: FakeClock) -> None:
    lookup = lookup_of(*range(10))
    auth = KeyAuthenticator(lookup, max_entries=3)
    for n in range(5):
        await auth.authenticate(secret(n))
    assert len(lookup.calls) == 5

    for n in (2, 3, 4):  # the newest three are still cached
        assert await auth.authenticate(secret(n)) == caller_for(n)
    assert len(lookup.calls) == 5

    assert await auth.authenticate(secret(0)) == caller_for(0)  # evicted: asked again
    assert len(lookup.calls) == 6
    assert len(auth._cache) <= 3
    assert len(auth._hash_by_key_id) <= 3


async def test_a_flood_of_bad_keys_stays_within_the_bound(clock: FakeClock) -> None:
    lookup = lookup_of()
    auth = KeyAuthenticator(lookup, max_entries=50)
    for n in range(500):
        await auth.authenticate(secret(n))
    assert len(lookup.calls) == 500
    assert len(auth._cache) == 50


async def test_forgetting_a_person_drops_their_keys_and_the_unknown_secrets() -> None:
    from application.teams.authenticate import KeyAuthenticator
    from domains.shared.caller import Caller
    from domains.teams.model import hash_secret

    secret, unknown = "fr-" + "a" * 40, "fr-" + "b" * 40
    answers: dict[str, Caller | None] = {
        hash_secret(secret): Caller(
            key_id="k1", key_prefix="fr-aaaaaaaa", team_id="t", org_id="o", user_id="u1"
        )
    }
    calls: list[str] = []

    class Lookup:
        async def find_active(self, secret_hash: str) -> Caller | None:
            calls.append(secret_hash)
            return answers.get(secret_hash)

    authenticator = KeyAuthenticator(Lookup())
    assert await authenticator.authenticate(secret) is not None
    assert await authenticator.authenticate(unknown) is None
    answers.clear()  # the person is deactivated
    authenticator.forget_user("u1")
    assert await authenticator.authenticate(secret) is None
    answers[hash_secret(unknown)] = Caller(
        key_id="k2", key_prefix="fr-bbbbbbbb", team_id="t", org_id="o", user_id="u2"
    )
    authenticator.forget_user("u2")  # reactivated: keys cached as unknown are looked up again
    assert await authenticator.authenticate(unknown) is not None
    assert len(calls) == 4


class GatedLookup(FakeLookup):
    """Answers only once `opened` is set."""

    def __init__(self, known: dict[str, Caller]) -> None:
        super().__init__(known)
        self.opened = asyncio.Event()

    async def find_active(self, secret_hash: str) -> Caller | None:
        self.calls.append(secret_hash)
        await self.opened.wait()
        return self.known.get(secret_hash)


async def test_a_burst_of_a_new_keys_first_requests_is_one_lookup(clock: FakeClock) -> None:
    lookup = GatedLookup({hash_secret(secret(1)): caller_for(1)})
    auth = KeyAuthenticator(lookup)
    burst = [asyncio.ensure_future(auth.authenticate(secret(1))) for _ in range(50)]
    await asyncio.sleep(0)
    lookup.opened.set()
    assert await asyncio.gather(*burst) == [caller_for(1)] * 50
    assert len(lookup.calls) == 1
    assert await auth.authenticate(secret(1)) == caller_for(1)  # and cached
    assert len(lookup.calls) == 1


async def test_a_miss_after_a_forget_does_not_share_the_lookup_before_it(clock: FakeClock) -> None:
    lookup = GatedLookup({hash_secret(secret(1)): caller_for(1)})
    auth = KeyAuthenticator(lookup)
    before = asyncio.ensure_future(auth.authenticate(secret(1)))
    await asyncio.sleep(0)
    auth.forget_key("key-1")  # revoked meanwhile: what the database said before may be stale
    lookup.known.clear()
    after = asyncio.ensure_future(auth.authenticate(secret(1)))
    await asyncio.sleep(0)
    lookup.opened.set()
    await asyncio.gather(before, after)
    assert after.result() is None
    assert len(lookup.calls) == 2
    assert await auth.authenticate(secret(1)) is None  # the newer answer is the one cached


async def test_a_request_that_leaves_mid_lookup_leaves_it_to_the_others(clock: FakeClock) -> None:
    lookup = GatedLookup({hash_secret(secret(1)): caller_for(1)})
    auth = KeyAuthenticator(lookup)
    first = asyncio.ensure_future(auth.authenticate(secret(1)))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(auth.authenticate(secret(1)))
    await asyncio.sleep(0)
    first.cancel()
    lookup.opened.set()
    assert await second == caller_for(1)
    assert first.cancelled()
    assert len(lookup.calls) == 1

"""The database-backed Litestar store behind sessions and the rate-limit middleware: values set,
read, renewed, expired and deleted per namespace, identically on both engines."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import anyio
import pytest

from tests.conftest import FakeClock
from walletbridge.adapters.db.kv_store import SqlKeyValueStore
from walletbridge.bootstrap import Container

T = TypeVar("T")


def run(call: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(call)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(app: Container, clock: FakeClock) -> SqlKeyValueStore:
    return SqlKeyValueStore(app.engine, f"test-{secrets.token_hex(4)}", clock=clock)


def test_a_value_reads_back_until_it_expires(store: SqlKeyValueStore, clock: FakeClock) -> None:
    run(lambda: store.set("session-1", b"payload", expires_in=60))
    assert run(lambda: store.get("session-1")) == b"payload"
    assert run(lambda: store.expires_in("session-1")) == 60

    clock.advance(60)

    assert run(lambda: store.get("session-1")) is None
    assert run(lambda: store.exists("session-1")) is False
    assert run(lambda: store.expires_in("session-1")) is None


def test_text_values_are_stored_as_utf8(store: SqlKeyValueStore) -> None:
    run(lambda: store.set("k", "grüße"))

    assert run(lambda: store.get("k")) == "grüße".encode()
    assert run(lambda: store.expires_in("k")) is None


def test_setting_again_replaces_the_value_and_expiry(
    store: SqlKeyValueStore, clock: FakeClock
) -> None:
    run(lambda: store.set("k", b"old", expires_in=10))
    run(lambda: store.set("k", b"new", expires_in=timedelta(minutes=5)))
    clock.advance(30)

    assert run(lambda: store.get("k")) == b"new"


def test_reading_with_renew_extends_the_expiry(store: SqlKeyValueStore, clock: FakeClock) -> None:
    run(lambda: store.set("k", b"v", expires_in=10))
    clock.advance(8)

    assert run(lambda: store.get("k", renew_for=10)) == b"v"
    clock.advance(8)

    assert run(lambda: store.get("k")) == b"v"


def test_delete_removes_one_key(store: SqlKeyValueStore) -> None:
    run(lambda: store.set("a", b"1"))
    run(lambda: store.set("b", b"2"))

    run(lambda: store.delete("a"))
    run(lambda: store.delete("never-set"))

    assert run(lambda: store.exists("a")) is False
    assert run(lambda: store.exists("b")) is True


def test_namespaces_are_apart_and_delete_all_clears_children(store: SqlKeyValueStore) -> None:
    child = store.with_namespace("child")
    sibling = SqlKeyValueStore(store.engine, store.namespace + "x", clock=store.clock)
    for each in (store, child, sibling):
        run(lambda each=each: each.set("k", each.namespace.encode()))

    assert run(lambda: child.get("k")) == child.namespace.encode()
    run(store.delete_all)

    assert run(lambda: store.get("k")) is None
    assert run(lambda: child.get("k")) is None
    assert run(lambda: sibling.get("k")) == sibling.namespace.encode()


def test_a_very_long_key_is_stored(store: SqlKeyValueStore) -> None:
    key = "rate-limit::" + "/path" * 200

    run(lambda: store.set(key, b"1"))

    assert run(lambda: store.get(key)) == b"1"


def test_expired_values_are_purged(store: SqlKeyValueStore, clock: FakeClock) -> None:
    run(lambda: store.set("old", b"1", expires_in=1))
    run(lambda: store.set("kept", b"2"))
    clock.advance(2)

    assert store.delete_expired() == 1
    assert run(lambda: store.get("kept")) == b"2"

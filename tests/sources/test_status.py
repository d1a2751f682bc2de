"""Each source's last answer and last failure, as the vendor calls leave them in the store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlite_utils import Database

from bot import config
from bot.db import Store
from bot.errors import VendorAuthError, VendorBadResponse, VendorUnavailable
from bot.query import Query
from bot.sources.http import BucketCache, Sleep, VendorHTTP
from bot.sources.livechat import Filters, LiveChat, describe_error
from bot.sources.status import ERROR_CHARS, SourceStatus, error_words, read_status
from bot.timefmt import now_iso
from tests.fakes.clock import NOW, FakeClock, no_retry
from tests.sources.test_livechat import BEARER, FakeLiveChat, fail
from tests.sources.test_liveperson import FakeLivePerson

pytestmark = pytest.mark.anyio
T = TypeVar("T")
FILTERS = Filters(NOW - timedelta(minutes=60), NOW)  # the last hour
REFUSED = "LiveChat refused the bot's credentials (authentication: Invalid access token)"


class CountingStore(Store):
    """A store that counts the functions run on it: each is one write of a status."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.calls = 0

    async def __call__(self, fn: Callable[[Database], T]) -> T:
        self.calls += 1
        return await super().__call__(fn)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CountingStore]:
    subject = CountingStore(str(tmp_path / "bot.db"))
    yield subject
    subject.close()


def livechat(
    vendor: FakeLiveChat, status: SourceStatus, clock: FakeClock, sleep: Sleep = no_retry
) -> LiveChat:
    http = VendorHTTP(
        "LiveChat",
        httpx.AsyncClient(transport=httpx.MockTransport(vendor)),
        sleep=sleep,
        describe=describe_error,
        outcomes=status.told("livechat"),
    )
    return LiveChat(BEARER, http, BucketCache(clock), clock)


async def stored(store: Store, status: SourceStatus) -> dict[str, dict[str, Any]]:
    await status.drain()
    return await store(read_status)


async def test_an_answer_is_recorded(store: CountingStore) -> None:
    clock = FakeClock()
    status = SourceStatus(store, clock)
    await livechat(FakeLiveChat(), status, clock).report("ratings", FILTERS)
    assert await stored(store, status) == {
        "livechat": {
            "last_ok": now_iso(NOW),
            "last_error_at": None,
            "last_error": "",
            "updated_at": now_iso(NOW),
            "failing": False,
        }
    }


async def test_a_401_is_recorded_in_words(store: CountingStore) -> None:
    clock = FakeClock()
    status = SourceStatus(store, clock)
    vendor = FakeLiveChat(
        scripted={"ratings": [fail(401, "authentication", "Invalid access token")]}
    )
    with pytest.raises(VendorAuthError):
        await livechat(vendor, status, clock).report("ratings", FILTERS)
    row = (await stored(store, status))["livechat"]
    assert row["last_ok"] is None
    assert (row["last_error_at"], row["last_error"], row["failing"]) == (
        now_iso(NOW),
        REFUSED,
        True,
    )


async def test_many_answers_write_once_a_minute(store: CountingStore) -> None:
    clock = FakeClock()
    status = SourceStatus(store, clock)
    source = livechat(FakeLiveChat(), status, clock)
    for _ in range(30):  # a burst: one call every 2 s for a minute
        await source.report("ratings", FILTERS)
        clock.seconds += 2
    row = (await stored(store, status))["livechat"]
    assert (store.calls, row["last_ok"]) == (1 + 1, now_iso(NOW))  # the write and the read
    await source.report("ratings", FILTERS)  # a minute after the first: written
    row = (await stored(store, status))["livechat"]
    assert (store.calls, row["last_ok"]) == (2 + 2, now_iso(NOW + timedelta(seconds=60)))


async def test_the_same_failure_also_writes_once_a_minute(store: CountingStore) -> None:
    clock = FakeClock()
    status = SourceStatus(store, clock)
    vendor = FakeLiveChat(scripted={"ratings": [fail(401, "authentication", "no")] * 5})
    source = livechat(vendor, status, clock)
    for _ in range(5):
        with pytest.raises(VendorAuthError):
            await source.report("ratings", FILTERS)
        clock.seconds += 10
    await status.drain()
    assert store.calls == 1


async def test_a_flip_from_failing_to_answering_is_written_at_once(store: CountingStore) -> None:
    clock = FakeClock()
    status = SourceStatus(store, clock)
    vendor = FakeLiveChat(
        scripted={"ratings": [fail(401, "authentication", "Invalid access token")]}
    )
    source = livechat(vendor, status, clock, sleep=clock.sleep)
    with pytest.raises(VendorAuthError):
        await source.report("ratings", FILTERS)
    clock.seconds += 5
    await source.report("ratings", FILTERS)
    row = (await stored(store, status))["livechat"]
    assert row == {
        "last_ok": now_iso(NOW + timedelta(seconds=5)),
        "last_error_at": now_iso(NOW),
        "last_error": REFUSED,  # the last failure stays, with its moment
        "updated_at": now_iso(NOW + timedelta(seconds=5)),
        "failing": False,
    }
    clock.seconds += 5  # and back to failing, at once too
    vendor.scripted["ratings"] = [httpx.Response(503)] * 3
    with pytest.raises(VendorUnavailable):
        await source.report("ratings", FILTERS)
    row = (await stored(store, status))["livechat"]
    assert row["failing"] is True
    assert row["last_error"] == "LiveChat is unavailable (HTTP 503 after 3 tries)"


async def test_other_words_are_written_at_once(store: CountingStore) -> None:
    clock = FakeClock()
    status = SourceStatus(store, clock)
    vendor = FakeLiveChat(
        scripted={"ratings": [fail(401, "authentication", "Invalid access token"),
                              httpx.Response(200, text="<html>maintenance</html>")]}
    )  # fmt: skip
    source = livechat(vendor, status, clock)
    with pytest.raises(VendorAuthError):
        await source.report("ratings", FILTERS)
    clock.seconds += 1
    with pytest.raises(VendorBadResponse):  # an answer that is not JSON is no answer
        await source.report("ratings", FILTERS)
    row = (await stored(store, status))["livechat"]
    assert (row["last_ok"], row["last_error_at"]) == (None, now_iso(NOW + timedelta(seconds=1)))
    assert row["last_error"] == (
        "LiveChat sent an answer the bot cannot read (not JSON: <html>maintenance</html>)"
    )


async def test_a_time_out_is_recorded(store: CountingStore) -> None:
    clock = FakeClock()
    status = SourceStatus(store, clock)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    http = VendorHTTP("LiveChat", httpx.AsyncClient(transport=httpx.MockTransport(slow)),
                      sleep=no_retry, outcomes=status.told("livechat"))  # fmt: skip
    with pytest.raises(Exception, match="did not answer in time"):
        await http.post_json("https://api.livechatinc.com/v3.6/reports/chats/ratings")
    row = (await stored(store, status))["livechat"]
    assert (
        row["last_error"] == "LiveChat did not answer in time (no answer from api.livechatinc.com)"
    )


def test_the_words_are_cut() -> None:
    words = error_words(VendorUnavailable("LiveChat", "x" * 1000))
    assert len(words) == ERROR_CHARS
    assert words.startswith("LiveChat is unavailable (xxx") and words.endswith("x…")


async def test_the_other_process_never_moves_a_moment_back(tmp_path: Path) -> None:
    """Both processes write into one file; news that arrives late does not hide newer."""
    path = str(tmp_path / "bot.db")
    serve, digests = Store(path), Store(path)
    try:
        late, early = FakeClock(NOW + timedelta(minutes=5)), FakeClock(NOW)
        first, second = SourceStatus(serve, late), SourceStatus(digests, early)
        first.record("liveperson", None)
        first.record("liveperson", VendorUnavailable("LivePerson", "HTTP 502 after 3 tries"))
        await first.drain()
        second.record("liveperson", None)  # older news, arriving later
        second.record("liveperson", VendorAuthError("LivePerson", "HTTP 401", 401))
        row = (await stored(serve, second))["liveperson"]
        assert row == {
            "last_ok": now_iso(late()),
            "last_error_at": now_iso(late()),
            "last_error": "LivePerson is unavailable (HTTP 502 after 3 tries)",
            "updated_at": now_iso(late()),
            "failing": False,  # the same second: the answer is not taken for a failure
        }
    finally:
        serve.close()
        digests.close()


def read_only(store: Store) -> Store:
    store.sync(lambda db: db.execute("PRAGMA query_only = ON"))
    return store


def closed(store: Store) -> Store:
    store.close()
    return store


@pytest.mark.parametrize("broken", [read_only, closed])
async def test_a_broken_store_never_breaks_the_call(
    tmp_path: Path, broken: Callable[[Store], Store], caplog: pytest.LogCaptureFixture
) -> None:
    store = broken(Store(str(tmp_path / "bot.db")))
    clock = FakeClock()
    status = SourceStatus(store, clock)
    vendor = FakeLiveChat(scripted={"ratings": [fail(401, "authentication", "no")]})
    source = livechat(vendor, status, clock)
    with caplog.at_level(logging.WARNING, logger="bot.sources.status"):
        with pytest.raises(VendorAuthError):  # the vendor's own failure, not the store's
            await source.report("ratings", FILTERS)
        for _ in range(3):  # each a flip or a minute later: each tries to write
            clock.seconds += 61
            assert await source.report("ratings", FILTERS)
        await source.aclose()  # waits for the writes under way
    assert len(caplog.records) == 1  # logged once
    assert "source status not recorded (livechat)" in caplog.text
    store.close()


async def test_a_hook_that_raises_never_breaks_the_call(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def __call__(self, error: object) -> None:
            raise RuntimeError("hook")

        async def drain(self) -> None:
            pass

    vendor = FakeLiveChat()
    http = VendorHTTP("LiveChat", httpx.AsyncClient(transport=httpx.MockTransport(vendor)),
                      outcomes=Broken())  # fmt: skip
    url = "https://api.livechatinc.com/v3.6/reports/chats/ratings"
    assert await http.post_json(url) and await http.post_json(url)
    assert caplog.text.count("could not be recorded") == 1


async def test_build_sources_records_the_vendors_and_not_ingested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.app

    livechat_vendor, liveperson_vendor = FakeLiveChat(), FakeLivePerson()

    def vendors(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.livechatinc.com":
            return livechat_vendor(request)
        return liveperson_vendor(request)

    def client(settings: config.Settings) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(vendors))

    monkeypatch.setattr(bot.app, "_client", client)
    env = {
        "BOT_CONFIG": "/nonexistent.toml",
        "BOT_INGEST_TOKEN": "t",
        "LIVECHAT_TOKEN": "lc-token",
        "LIVEPERSON_ACCOUNT_ID": "123",
        "LIVEPERSON_CLIENT_ID": "id",
        "LIVEPERSON_CLIENT_SECRET": "secret",
    }
    store = Store(str(tmp_path / "bot.db"))
    clock = FakeClock()
    sources = bot.app.build_sources(config.load(env), clock, store)
    try:
        for name in ("livechat", "liveperson", "ingested"):
            source = sources.get(name)
            assert source is not None
            await source.csat(Query(command="/csat", source=name, timeframe=60))
    finally:
        await sources.aclose()  # the writes are in before the store closes
    try:
        found = store.sync(read_status)
    finally:
        store.close()
    assert sorted(found) == ["livechat", "liveperson"]
    assert all(row["last_ok"] == now_iso(NOW) and not row["failing"] for row in found.values())


async def test_no_status_without_a_store_or_when_asked_not_to(tmp_path: Path) -> None:
    import bot.app

    env = {"BOT_CONFIG": "/nonexistent.toml", "LIVECHAT_TOKEN": "lc-token"}
    store = Store(str(tmp_path / "bot.db"))
    try:
        for sources in (
            bot.app.build_sources(config.load(env)),
            bot.app.build_sources(config.load(env), store=store, status=False),
        ):
            source = sources.get("livechat")
            assert isinstance(source, LiveChat) and source.http._outcomes is None
            await sources.aclose()
    finally:
        store.close()

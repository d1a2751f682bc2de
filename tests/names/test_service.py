"""`Names`: first need, the store shared between processes, refreshes, refusals, overrides."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path

import pytest

from bot.db import Store
from bot.directory import Collection, Entry
from bot.names import queries
from bot.names.service import REFRESH_EVERY, UNKNOWN_EVERY, Names
from tests.fakes.clock import FakeClock

USERS = (Entry("agent", "1001", "Ana"), Entry("agent", "1002", "Zoë"))
SKILLS = (Entry("skill", "11", "Billing"), Entry("skill", "12", "Orders"))


class FakeDirectory:
    """A vendor's directory: what it answers next, and what it was asked."""

    name = "liveperson"
    vendor = "LivePerson"

    def __init__(self) -> None:
        self.users: tuple[Entry, ...] = USERS
        self.refuse_users = False
        self.asked: list[Mapping[str, str]] = []
        self.gate: asyncio.Event | None = None

    async def directory(self, revisions: Mapping[str, str]) -> list[Collection]:
        self.asked.append(dict(revisions))
        if self.gate is not None:
            await self.gate.wait()
        users = (
            Collection(
                "liveperson",
                "users",
                "agent",
                "refused",
                detail="HTTP 403",
                grant='the "Users" read privilege',
            )
            if self.refuse_users
            else Collection("liveperson", "users", "agent", "ok", self.users, f"u{len(self.asked)}")
        )
        skills = (
            Collection("liveperson", "skills", "skill", "unchanged", revision="s1")
            if revisions.get("skills") == "s1"
            else Collection("liveperson", "skills", "skill", "ok", SKILLS, "s1")
        )
        return [users, skills]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(str(tmp_path / "bot.db"))
    yield store
    store.close()


def names(store: Store | None, vendor: FakeDirectory, clock: FakeClock, **kw: object) -> Names:
    return Names(store, ["liveperson"], {"liveperson": vendor}, clock=clock, **kw)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_first_need_reads_the_vendor_then_the_store_serves_other_processes(
    store: Store,
) -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    first = names(store, vendor, clock)
    assert first.get("liveperson") is None  # nothing before the first need
    directory = await first.ready("liveperson")
    assert directory.name("agent", "1002") == "Zoë"
    assert first.name("skill", "12") == "Orders"
    assert len(vendor.asked) == 1
    # another process (the digest worker, the CLI) finds it in the store: no vendor call
    other = names(store, vendor, clock)
    assert (await other.ready("liveperson")).name("agent", "1001") == "Ana"
    assert len(vendor.asked) == 1
    # stored with its revisions: the next refresh sends them
    await other.refresh("liveperson")
    assert vendor.asked[-1] == {"users": "u1", "skills": "s1"}
    rows = store.sync(lambda db: queries.states(db, "liveperson"))
    assert {r["collection"]: r["revision"] for r in rows} == {"users": "u2", "skills": "s1"}


@pytest.mark.anyio
async def test_an_hour_old_directory_is_refreshed_in_the_background(store: Store) -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    service = names(store, vendor, clock)
    await service.ready("liveperson")
    clock.now += REFRESH_EVERY - timedelta(minutes=1)
    await service.ready("liveperson")
    assert len(vendor.asked) == 1
    clock.now += timedelta(minutes=2)
    vendor.users = (*USERS, Entry("agent", "1003", "Kwame"))
    before = service.get("liveperson")
    assert await service.ready("liveperson") is before  # answered at once with what it has
    await asyncio.sleep(0.05)  # the refresh runs beside
    assert len(vendor.asked) == 2
    assert service.name("agent", "1003") == "Kwame"


@pytest.mark.anyio
async def test_ids_shown_without_a_name_are_looked_for_once_till_the_next_hour(
    store: Store,
) -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    service = names(store, vendor, clock)
    await service.ready("liveperson")
    assert service.unknown("liveperson", "agent", ["1001", "1002"]) is False
    assert service.unknown("liveperson", "agent", ["1001", "1099"]) is True
    await asyncio.sleep(0.05)
    assert len(vendor.asked) == 2  # looked for at once: the hourly read does not count
    clock.now += UNKNOWN_EVERY * 3
    assert service.unknown("liveperson", "agent", ["1099"]) is False  # looked for, not there
    await asyncio.sleep(0.05)
    assert len(vendor.asked) == 2  # not again before the next hourly refresh
    assert service.unknown("liveperson", "agent", ["1098"]) is True  # another one is
    await asyncio.sleep(0.05)
    assert len(vendor.asked) == 3


@pytest.mark.anyio
async def test_a_typed_id_is_looked_for_even_just_after_the_hourly_refresh(store: Store) -> None:
    """The hourly read at 10:00 does not know a skill made at 10:01: typed at 10:02, the
    directory is read again; typed again a minute later, the fresh read stands."""
    vendor, clock = FakeDirectory(), FakeClock()
    service = names(store, vendor, clock)
    await service.ready("liveperson")
    clock.now += timedelta(minutes=2)
    assert await service.refresh_unknown("liveperson") is True
    assert len(vendor.asked) == 2
    clock.now += timedelta(minutes=1)
    assert await service.refresh_unknown("liveperson") is True  # read a minute ago: fresh
    assert len(vendor.asked) == 2
    clock.now += UNKNOWN_EVERY - timedelta(seconds=30)
    assert await service.refresh_unknown("liveperson") is True  # due again: read now
    assert len(vendor.asked) == 3


@pytest.mark.anyio
async def test_the_same_lists_again_rebuild_nothing(store: Store) -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    service = names(store, vendor, clock)
    await service.ready("liveperson")
    version = service.version
    vendor.users = USERS  # same content, a new revision: read anew
    await service.refresh("liveperson")
    assert service.version == version + 1
    clock.now += timedelta(minutes=10)
    service._stamp["liveperson"] = service._stamp["liveperson"]  # as another process sees it
    await service.stored("liveperson")
    assert service.version == version + 1  # the store did not change: nothing rebuilt


@pytest.mark.anyio
async def test_concurrent_first_needs_share_one_fetch(store: Store) -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    vendor.gate = asyncio.Event()
    service = names(store, vendor, clock)
    waiting = [asyncio.ensure_future(service.ready("liveperson")) for _ in range(5)]
    await asyncio.sleep(0.01)
    vendor.gate.set()
    found = await asyncio.gather(*waiting)
    assert len(vendor.asked) == 1
    assert {d.name("skill", "11") for d in found} == {"Billing"}


@pytest.mark.anyio
async def test_a_refused_collection_keeps_the_names_read_before_and_says_what_to_grant(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    service = names(store, vendor, clock)
    await service.ready("liveperson")
    vendor.refuse_users = True
    with caplog.at_level(logging.WARNING, logger="bot.names.service"):
        await service.refresh("liveperson")
        await service.refresh("liveperson")
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refusals == [  # one line, however often it is refused
        "LivePerson refused its users directory (HTTP 403): its names stay as last read "
        '(or ids) until the bot\'s credentials have the "Users" read privilege'
    ]
    assert service.name("agent", "1001") == "Ana"  # what was read before stays
    state = {r["collection"]: r for r in store.sync(lambda db: queries.states(db))}
    assert state["users"]["status"] == "refused"
    assert state["users"]["grant_needed"] == 'the "Users" read privilege'
    assert state["users"]["count"] == 2


@pytest.mark.anyio
async def test_never_granted_means_ids_and_no_kind_to_check_against(store: Store) -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    vendor.refuse_users = True
    service = names(store, vendor, clock)
    directory = await service.ready("liveperson")
    assert service.name("agent", "1001") is None
    assert not directory.knows("agent")  # so "/agent-states 1001" is not called unknown
    assert directory.knows("skill")
    clock.now += UNKNOWN_EVERY
    await service.ready("liveperson")
    assert len(vendor.asked) == 1  # a refusal is an answer: asked again hourly, not at once


@pytest.mark.anyio
async def test_configured_names_win_and_name_sources_without_a_directory(store: Store) -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    overrides = {"agent": {"1001": "Ana S.", "a1": "Bea"}, "skill": {"-1": "No skill"}}
    service = Names(
        store,
        ["liveperson", "ingested"],
        {"liveperson": vendor},
        overrides,
        clock,  # type: ignore[dict-item]
    )
    assert service.name("agent", "a1") == "Bea"  # before anything is read
    await service.ready("liveperson")
    ingested = await service.ready("ingested")
    assert service.name("agent", "1001") == "Ana S."
    assert service.name("agent", "1002") == "Zoë"
    assert ingested.name("agent", "a1") == "Bea" and ingested.knows("agent")
    assert len(vendor.asked) == 1  # the ingested source has no vendor directory


@pytest.mark.anyio
async def test_without_a_store_the_fetch_is_what_is_known() -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    service = names(None, vendor, clock)
    assert (await service.ready("liveperson")).name("skill", "11") == "Billing"
    version = service.version
    await service.ready("liveperson")
    assert len(vendor.asked) == 1 and service.version == version


@pytest.mark.anyio
async def test_a_list_refused_after_a_read_keeps_its_names_but_calls_no_id_unknown(
    store: Store,
) -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    service = names(store, vendor, clock)
    directory = await service.ready("liveperson")
    assert directory.complete("agent")
    vendor.refuse_users = True
    directory = (await service.refresh("liveperson")) and service.get("liveperson")
    assert directory is not None and directory.name("agent", "1001") == "Ana"
    assert directory.knows("agent") and not directory.complete("agent")
    assert service.unknown("liveperson", "agent", ["4711"]) is False  # nothing to look for


@pytest.mark.anyio
async def test_each_source_names_its_own_ids(store: Store) -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    service = Names(store, ["liveperson", "livechat"], {"liveperson": vendor}, clock=clock)  # type: ignore[dict-item]
    await service.ready("liveperson")
    await service.ready("livechat")
    assert service.name("skill", "11", "liveperson") == "Billing"
    assert service.name("skill", "11", "livechat") is None  # LiveChat's 11 is not Billing
    assert service.name("skill", "11") == "Billing"  # no source known: whichever names it


@pytest.mark.anyio
async def test_a_process_that_does_not_write_keeps_what_it_read_in_memory(store: Store) -> None:
    vendor, clock = FakeDirectory(), FakeClock()
    service = Names(store, ["liveperson"], {"liveperson": vendor}, clock=clock, writes=False)  # type: ignore[dict-item]
    assert (await service.ready("liveperson")).name("agent", "1002") == "Zoë"
    assert store.sync(lambda db: queries.states(db)) == []  # a dry run stores nothing
    assert (await service.ready("liveperson")).name("agent", "1002") == "Zoë"
    assert len(vendor.asked) == 1

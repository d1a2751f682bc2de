"""Work off the loop: in a thread, the collector paused while any of it runs."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from bot.offloop import collector_paused, off_loop

pytestmark = pytest.mark.anyio


async def test_off_loop_runs_in_another_thread_with_the_collector_paused() -> None:
    def where(x: int, *, y: int) -> tuple[str, bool, int]:
        return threading.current_thread().name, gc.isenabled(), x + y

    name, enabled, total = await off_loop(where, 1, y=2)
    assert name != threading.current_thread().name
    assert (enabled, total) == (False, 3)
    assert gc.isenabled()


async def test_overlapping_pauses_resume_the_collector_once_the_last_ends() -> None:
    gate, started = threading.Event(), threading.Event()

    def wait() -> bool:
        started.set()
        gate.wait(5)
        return gc.isenabled()

    first = asyncio.ensure_future(off_loop(wait))
    await asyncio.to_thread(started.wait, 5)
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the thread's pause still holds
    gate.set()
    assert await first is False
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()

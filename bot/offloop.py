"""CPU work off the event loop that answers Slack.

The loop acknowledges Slack within milliseconds only if nothing on it runs for long.
Work of more than a millisecond or two (a big vendor answer parsed, a digest's rows,
comparison and message) runs in a worker thread through `off_loop`. Pure-Python work
gives the GIL back every `SWITCH_INTERVAL` seconds, so the loop waits at most that long
for its turn; a process pool would avoid even that, but would pay for pickling a
20,000-agent report both ways, on the loop (measured: `docs/benchmarks.md`).

While such work runs, the cyclic collector is paused: each collection walks every object
alive, and a big report is a million of them, so collections cost several times the work
itself, and one triggered by the loop's own allocations would stall the loop.
Reference counting still frees everything that is not a cycle; the collector resumes
when the last piece of work ends.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
SWITCH_INTERVAL = 0.0005  # seconds a worker holds the GIL the loop waits for (Python: 5 ms)

_lock = threading.Lock()
_pausing = 0  # pieces of work running with the collector paused
_was_enabled = True


_answering_slack = False


def share_the_gil() -> None:
    """This process acks Slack (serve, socket): worker threads hand the loop the GIL
    within `SWITCH_INTERVAL`, and long C calls are cut in steps (`answering_slack`)."""
    global _answering_slack
    _answering_slack = True
    sys.setswitchinterval(SWITCH_INTERVAL)


def answering_slack() -> bool:
    """Whether a long call holding the GIL (one big `json.loads`) would delay an ack here."""
    return _answering_slack


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the duration (nested and threaded uses count)."""
    global _pausing, _was_enabled
    with _lock:
        if _pausing == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _lock:
            _pausing -= 1
            if _pausing == 0 and _was_enabled:
                gc.enable()


def _paused(call: Callable[[], T]) -> T:
    with collector_paused():
        return call()


async def off_loop(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` in a worker thread with the collector paused."""
    return await asyncio.to_thread(_paused, partial(fn, *args, **kwargs))

"""The digest process: scheduled digests run in a process of their own.

A digest for 20,000 agents is seconds of pure-Python work (13 MB of JSON, a million
objects, the rows, the comparison, the message, the CSV). In a worker thread it holds
the GIL the loop that acks Slack needs: measured, acks during such a digest took 3-4x
their idle p99 (`docs/benchmarks.md`). So `serve` and `socket` hand each scheduled run
to one child process (`ProcessPoolExecutor`, spawned, started with the scheduler), which
builds its own parts from the same settings and keeps an event loop of its own in a
thread: the digest, its snapshot, its alerts and their posting happen there. Across
the process boundary go only the digest's name and time, and the `Outcome`.

The two processes share the SQLite file (WAL; a writer waits its turn, `db.py`), so
exactly-once claims, snapshots and alerts work as before. They do not share the bucket
cache: a slash command asking exactly what a digest asks, in the same five minutes, is
a second vendor call.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any

from bot.config import Digest, Settings
from bot.digests.run import Outcome
from bot.errors import BotError, DigestError
from bot.offloop import collector_paused

log = logging.getLogger(__name__)
STARTUP_SECONDS = 120.0  # a child that cannot start within this is a failed run
CHILD_NICENESS = 10  # the digest process yields the CPU to serve's loop


class DigestWorker:
    """`Digests.run` for the scheduler, in the digest process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.digests: dict[str, Digest] = {d.name: d for d in settings.digests}
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> ProcessPoolExecutor:
        """Spawn the child now, so the first digest does not wait for its imports."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_child_start,
                initargs=(self.settings,),
            )
            self._pool.submit(_child_ready)
        return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new child for one that died, unless another caller (a digest and a collection
        share the pool, both told it broke) or `shutdown` has already dealt with it: only
        the pool that broke is shut down, and a pool shut down on purpose stays so."""
        broken.shutdown(wait=False, cancel_futures=True)
        if self._pool is broken:
            self._pool = None
            self.start()

    async def run(
        self, name: str, scheduled_for: datetime | None = None, dry_run: bool = False
    ) -> Outcome:
        pool = self.start()
        loop = asyncio.get_running_loop()
        try:
            kind, value = await loop.run_in_executor(pool, _child_run, name, scheduled_for, dry_run)
        except BrokenProcessPool:
            # the child died (killed, out of memory): this run is lost, the next ones are not
            self._replace(pool)
            raise DigestError(
                f"the digest process stopped while running {name}; a new one has started"
            ) from None
        if kind == "outcome":
            assert isinstance(value, Outcome)
            return value
        if kind == "bot":
            raise DigestError(str(value))
        raise RuntimeError(f"the digest process failed: {value}")

    async def collect(self) -> None:
        """One collection of LivePerson's history in the digest process: 24 nested answers
        for a big account are seconds of decoding and parsing, kept away from the acks
        like a digest. A failure is logged there; here, only a child that died."""
        pool = self.start()
        try:
            await asyncio.get_running_loop().run_in_executor(pool, _child_collect)
        except BrokenProcessPool:
            self._replace(pool)
            log.error("the digest process stopped while collecting; a new one has started")

    def shutdown(self) -> None:
        """Stop taking runs; one that is running finishes in the digest process, even when
        `serve` has exited by then (`_stop_with`)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


# --- in the child --------------------------------------------------------------------

_child: tuple[asyncio.AbstractEventLoop, Any] | None = None
_running = threading.Lock()  # held while a digest runs


def _child_start(settings: Settings) -> None:
    """Logging as the parent's, a loop in a thread, the parts built in it."""
    global _child
    # a small machine's cores go to the acks first: the digests can wait a little
    os.nice(CHILD_NICENESS)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(
            target=_stop_with, args=(parent.sentinel,), name="parent-watch", daemon=True
        ).start()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from bot.app import build_parts  # the wiring: imported here, in the child only

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="digest-loop", daemon=True).start()

    async def build() -> Any:
        return build_parts(settings, fetch_names=False)  # `serve` reads the directories

    parts = asyncio.run_coroutine_threadsafe(build(), loop).result(STARTUP_SECONDS)
    _warm(parts, settings)
    _child = (loop, parts)
    atexit.register(_child_stop)
    log.info("digest process ready")


def _warm(parts: Any, settings: Settings) -> None:
    """Load now what the first digest would wait for: Jinja with the digests' templates
    compiled (200 ms on a small machine) and the JSON reader of big answers."""
    try:
        for digest in settings.digests:
            parts.digests.renderer.env.get_template(digest.template_file)
        import orjson  # noqa: F401
    except Exception:  # the digest that uses a broken template says what is wrong with it
        log.warning("digest process: preparing the templates failed", exc_info=True)


def _stop_with(parent: int) -> None:
    """Exit once `serve` is gone and the digest under way, if any, is done.

    `serve` stopped by SIGTERM exits without waiting for the child (uvicorn re-raises the
    signal once it has shut down), and killed outright it cannot wait. The child would
    never notice: it holds a writing end of its own task queue, so its wait for the next
    task never ends, and it would keep its memory and the database open for nobody while
    a restarted `serve` starts another. So it finishes the digest it is running (posted
    and recorded as if `serve` were still there), gives its alerts their time, and exits.
    """
    multiprocessing.connection.wait([parent])
    log.warning("serve has stopped; the digest process stops after the digest under way")
    with _running:
        try:
            _child_stop()
        except Exception:
            log.exception("closing the digest process's parts failed")
        finally:
            os._exit(0)


def _child_stop() -> None:
    """On the way out: alerts still being posted get their time, then the parts close."""
    if _child is not None:
        loop, parts = _child
        asyncio.run_coroutine_threadsafe(parts.aclose(), loop).result()


def _child_ready() -> bool:
    return _child is not None


def _child_collect() -> None:
    """One history collection (and, once a day, the pruning) in the child's loop; what it
    did is logged there (`Collector.once`)."""
    assert _child is not None, "the digest process did not start"
    loop, parts = _child
    from bot.app import history_collector

    global _collector
    if _collector is None:
        _collector = history_collector(parts, always=True)
    if _collector is None:  # no LivePerson in this configuration
        return
    once = _collector.once
    with _running:
        asyncio.run_coroutine_threadsafe(once(), loop).result()


_collector: Any = None  # the child's Collector, made at its first collection


def _child_run(name: str, scheduled_for: datetime | None, dry_run: bool) -> tuple[str, object]:
    """One digest in the child's loop: ("outcome", Outcome), ("bot", reason) or ("error", ...).

    Errors travel as text: an exception with its own constructor may not unpickle.
    """
    assert _child is not None, "the digest process did not start"
    loop, parts = _child

    async def run() -> tuple[str, object]:
        try:
            # a million objects made and dropped: collections would cost more than the work
            with collector_paused():
                return "outcome", await parts.digests.run(name, scheduled_for, dry_run)
        except BotError as exc:
            return "bot", str(exc)
        except Exception as exc:
            log.exception("digest %s failed", name)
            return "error", f"{type(exc).__name__}: {exc}"

    with _running:  # a `serve` that stops meanwhile lets this run finish (_stop_with)
        return asyncio.run_coroutine_threadsafe(run(), loop).result()

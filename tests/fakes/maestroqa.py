"""A simulated MaestroQA: CSAT bulk ingestion with its limits, faults and a ledger.

Enforces what MaestroQA documents: the `apiToken` header, at most 100 items a request,
10 requests a second and 100 a minute (429 with Retry-After beyond them), and answers
201 in the documented shape. Like the bot's own endpoint it updates a response sent
again with the same `(ticket_id, submitted_at)`. The ledger tells tests what happened:
`arrivals` counts every delivery of a key on the wire, `stored` holds one record per key,
`creates`/`updates` say how each delivery was taken, `over_limit` counts 429s the limits
caused. `pause()` holds requests (a request in flight, for kill -9 tests) until `resume()`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter, deque
from typing import Any

from bot.demo.sim.server import Call, LoopbackServer, Reply, reply
from bot.surveys.items import Item, validate_item

PATH = "/api/v1/create-customer-feedback"
Key = tuple[str, str]


class SimulatedMaestroQA(LoopbackServer):
    """MaestroQA's `create-customer-feedback` on loopback."""

    def __init__(
        self,
        token: str = "mqa-test-token",
        per_second: int = 10,
        per_minute: int = 100,
        max_items: int = 100,
    ) -> None:
        super().__init__()
        self.token = token
        self.per_second = per_second
        self.per_minute = per_minute
        self.max_items = max_items
        self.refuse: dict[str, str] = {}  # ticket_id -> the reason its items fail
        self.arrivals: Counter[Key] = Counter()
        self.creates: Counter[Key] = Counter()
        self.updates: Counter[Key] = Counter()
        self.stored: dict[Key, dict[str, Any]] = {}
        self.over_limit = 0
        self.accepted_requests: list[float] = []  # monotonic arrival times of counted requests
        self._window: deque[float] = deque()
        self._gate = threading.Event()
        self._gate.set()
        self.held = 0  # requests waiting at the gate right now

    def env(self) -> dict[str, str]:
        return {"MAESTROQA_API_URL": self.url, "MAESTROQA_API_TOKEN": self.token}

    # --- test controls -----------------------------------------------------------------

    def pause(self) -> None:
        """Hold every request before it is processed, as a slow MaestroQA would."""
        self._gate.clear()

    def resume(self) -> None:
        self._gate.set()

    def wait_held(self, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.held < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{count} held requests expected, {self.held} waiting")
                self._lock.wait(left)

    def wait_stored(self, count: int, timeout: float = 30.0) -> None:
        """Block until `count` distinct responses are stored."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.stored) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{count} responses expected, {len(self.stored)} stored")
                self._lock.wait(min(left, 0.2))

    # --- the API -----------------------------------------------------------------------

    def route(self, call: Call) -> Reply:
        if call.method != "POST" or call.path != PATH:
            return reply(404, {"error": f"no route for {call.method} {call.path}"})
        if call.headers.get("apitoken") != self.token:
            return reply(401, {"error": "Unauthorized"})
        throttled = self._throttle(call.at)
        if throttled:
            return reply(429, {"error": "Too Many Requests"}, {"Retry-After": throttled})
        try:
            data = call.json().get("data")
        except (ValueError, AttributeError):
            return reply(400, {"error": "body must be JSON with a data list"})
        if not isinstance(data, list):
            return reply(400, {"error": "body must be JSON with a data list"})
        if len(data) > self.max_items:
            return reply(400, {"error": f"max {self.max_items} items per request"})
        self._hold()
        with self._lock:
            results = [self._take(raw) for raw in data]
            self._lock.notify_all()
        return reply(201, {"status": "completed", "total": len(data), "results": results})

    def _throttle(self, now: float) -> str:
        """Retry-After seconds when this request breaks a limit; '' when it may pass."""
        with self._lock:
            window = self._window
            while window and window[0] <= now - 60:
                window.popleft()
            last_second = sum(1 for t in window if t > now - 1)
            if last_second >= self.per_second or len(window) >= self.per_minute:
                self.over_limit += 1
                wait = window[-self.per_second] + 1 - now if last_second >= self.per_second else 0
                if len(window) >= self.per_minute:
                    wait = max(wait, window[-self.per_minute] + 60 - now)
                return str(max(1, round(wait + 0.5)))
            window.append(now)
            self.accepted_requests.append(now)
            return ""

    def _hold(self) -> None:
        if self._gate.is_set():
            return
        with self._lock:
            self.held += 1
            self._lock.notify_all()
        self._gate.wait()
        with self._lock:
            self.held -= 1

    def _take(self, raw: Any) -> dict[str, Any]:
        item = validate_item(raw)
        if isinstance(raw, dict) and "ticket_id" in raw:
            ticket = str(raw.get("ticket_id"))
            if isinstance(item, Item):
                self.arrivals[item.ticket_id, item.submitted_at] += 1
            if ticket in self.refuse:
                return {"action": "create", "status": f"Failed: {self.refuse[ticket]}",
                        "success": False}  # fmt: skip
        if not isinstance(item, Item):
            return {"action": "create", "status": f"Failed: {item}", "success": False}
        key = (item.ticket_id, item.submitted_at)
        action = "update" if key in self.stored else "create"
        (self.updates if action == "update" else self.creates)[key] += 1
        self.stored[key] = raw
        remote = hashlib.sha1(repr(key).encode()).hexdigest()[:17]
        status = "Created" if action == "create" else "Updated"
        return {"action": action, "_id": remote, "status": status, "success": True}

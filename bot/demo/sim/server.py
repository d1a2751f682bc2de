"""A small threaded HTTP server on 127.0.0.1 that records calls and injects faults."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

Reply = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Call:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # time.monotonic() on arrival

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))

    def data(self) -> dict[str, Any]:
        """The body as a mapping, whether it was sent as JSON or as a form."""
        if self.headers.get("content-type", "").startswith("application/json"):
            return dict(self.json() or {})
        return {**self.query, **self.form()}


@dataclass
class Fault:
    """Answer requests whose path contains `path` with this instead, `times` times."""

    path: str
    status: int = 500
    body: bytes = b'{"error": "simulated"}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1
    drip: float = 0.0  # seconds between the body's bytes: a vendor that never quite answers


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return status, {"Content-Type": "application/json", **(headers or {})}, data


class _Server(ThreadingHTTPServer):
    # the default backlog of 5 drops connections when a burst of answers arrives at once,
    # which no real Slack or vendor does
    request_queue_size = 256


class LoopbackServer:
    """Subclasses implement `route(call) -> Reply`; `start()` serves in a daemon thread."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.faults: deque[Fault] = deque()
        self.delay = 0.0  # seconds added to every answer (a slow vendor)
        self._lock = threading.Condition()
        self._httpd: ThreadingHTTPServer | None = None

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> Self:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body are two writes: without TCP_NODELAY the body waits for the
            # client's delayed ACK, 40 ms on every keep-alive answer
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                call = Call(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                    time.monotonic(),
                )
                (status, headers, body), drip = server._answer(call)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not drip:
                    try:
                        self.wfile.write(body)
                    except OSError:  # the client went away first: nothing to tell it
                        self.close_connection = True
                    return
                try:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(drip)
                except OSError:  # the client gave up: that is the point
                    self.close_connection = True

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # --- behaviour --------------------------------------------------------------------

    def fail(
        self,
        path: str,
        status: int = 500,
        body: Any = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        drip: float = 0.0,
    ) -> None:
        """Queue a fault for the next `times` requests whose path contains `path`."""
        data = (
            body if isinstance(body, bytes) else json.dumps(body or {"error": "simulated"}).encode()
        )
        with self._lock:
            self.faults.append(Fault(path, status, data, headers or {}, delay, times, drip))

    def calls_to(self, path: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if path in c.path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until `count` calls to `path` arrived (no polling sleeps)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len([c for c in self.calls if path in c.path]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = len([c for c in self.calls if path in c.path])
                    raise TimeoutError(f"{count} calls to {path} expected, {got} arrived")
                self._lock.wait(left)
            return [c for c in self.calls if path in c.path]

    def _answer(self, call: Call) -> tuple[Reply, float]:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()
            fault = next((f for f in self.faults if f.path in call.path), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
        if fault is not None:
            time.sleep(fault.delay)
            headers = {"Content-Type": "application/json", **fault.headers}
            return (fault.status, headers, fault.body), fault.drip
        if self.delay:
            time.sleep(self.delay)
        return self.route(call), 0.0

    def route(self, call: Call) -> Reply:
        return reply(404, {"error": f"no route for {call.method} {call.path}"})

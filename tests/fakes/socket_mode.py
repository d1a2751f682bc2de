"""A simulated Socket Mode endpoint: the WebSocket Slack hands out in apps.connections.open.

Runs an aiohttp server in its own thread and loop. `send()` pushes an envelope (a slash
command, say) to the connected bot; `wait_ack()` returns what the bot answered for it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from typing import Any

from aiohttp import WSMsgType, web


class SimulatedSocketMode:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._socket: web.WebSocketResponse | None = None
        self._connected = threading.Condition()
        self._acks: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    def start(self) -> SimulatedSocketMode:
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def __enter__(self) -> SimulatedSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self._loop.run_forever()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        with self._connected:
            self._socket = socket
            self._connected.notify_all()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                body = json.loads(message.data)
                with self._connected:
                    self._acks[body.get("envelope_id", "")] = body
                    self._connected.notify_all()
        return socket

    def wait_connected(self, timeout: float = 20) -> None:
        with self._connected:
            if not self._connected.wait_for(lambda: self._socket is not None, timeout):
                raise TimeoutError("the bot never opened the Socket Mode connection")

    def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Push an envelope to the bot; its id."""
        self.wait_connected()
        envelope_id = f"env-{next(self._ids)}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": True}  # fmt: skip
        assert self._socket is not None
        asyncio.run_coroutine_threadsafe(
            self._socket.send_str(json.dumps(envelope)), self._loop
        ).result(10)
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        with self._connected:
            if not self._connected.wait_for(lambda: envelope_id in self._acks, timeout):
                raise TimeoutError(f"no ack for {envelope_id}")
            return self._acks[envelope_id]

"""The bot as a child process, the way production runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.demo.sim.slack import SimulatedSlack, sign, slash_command

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = "test-signing-secret"
PREFIXES = ("SLACK_", "LIVEPERSON_", "LIVECHAT_", "MAESTROQA_", "BOT_")


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without any of the bot's variables, plus `extra`.

    `serve` and `socket` collect no history (BOT_COLLECT=off) unless `extra` says "on":
    its calls would land among those a test counts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES) and k != "PORT"}
    return {**env, "BOT_COLLECT": "off", **extra}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningBot:
    """`python -m bot serve` in a child process, as production runs it."""

    def __init__(
        self,
        env: dict[str, str],
        tmp: Path,
        argv: list[str] | None = None,
        config: str | None = None,
    ) -> None:
        """`config` is the TOML file's text; without it the file is absent (defaults)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "bot.log"
        config_path = tmp / ("bot.toml" if config is not None else "absent.toml")
        if config is not None:
            config_path.write_text(config, encoding="utf-8")
        defaults = {
            "PORT": str(self.port),
            "BOT_DB": str(tmp / "bot.db"),
            "BOT_CONFIG": str(config_path),
            "BOT_SCHEDULER": "off",  # `env` may turn it on
        }
        full = clean_env(**{**defaults, **env})
        self.proc = subprocess.Popen(
            argv or [sys.executable, "-m", "bot", "serve"],
            cwd=ROOT,
            env=full,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.http = httpx.Client(base_url=self.url, timeout=10)
        self._wait_ready()

    def _wait_ready(self, limit: float = 20.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot exited: {self.log.read_text()}")
            try:
                if self.http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"bot not ready: {self.log.read_text()}")

    def command(
        self,
        slack: SimulatedSlack,
        text: str,
        command: str = "/csat",
        secret: str = SECRET,
        timestamp: int | None = None,
    ) -> tuple[httpx.Response, str]:
        """Post a signed slash command; the ack and the response_url it carried."""
        url = slack.response_url()
        body = slash_command(command, text, url)
        response = self.http.post(
            "/slack/events", content=body, headers=sign(secret, body, timestamp)
        )
        return response, url

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

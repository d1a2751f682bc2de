"""Requests an attacker or a broken client sends to `serve`: refused early, in one log line.

Every refusal here comes before the signature is even relevant (size) or before Bolt parses
anything (signature, encoding, shape), and none leaves a traceback in the bot's log.
"""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlencode

import pytest

from bot.demo.sim.slack import SimulatedSlack, sign, slash_payload
from tests.fakes.hostile import HOSTILE, pings
from tests.fakes.process import SECRET, RunningBot


def raw_post(bot: RunningBot, path: str, headers: dict[str, str], body: bytes) -> tuple[int, float]:
    """Send headers and a body by hand (a declared length need not match); the status and
    how long the answer took."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"POST {path} HTTP/1.1\r\nHost: bot\r\n{head}\r\n".encode() + body
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", bot.port), timeout=10) as conn:
        conn.sendall(request)
        answer = conn.recv(4096)
    status = int(answer.split(b" ", 2)[1])
    return status, time.monotonic() - started


def test_a_huge_declared_body_is_refused_before_it_is_read(bot: RunningBot) -> None:
    """64 MiB announced, a few bytes sent: the answer does not wait for the rest."""
    headers = {"Content-Length": str(64 * 1024 * 1024), "Content-Type": "application/json"}
    status, took = raw_post(bot, "/slack/events", headers, b"{}")
    assert status == 413
    assert took < 5
    status, took = raw_post(bot, "/api/v1/create-customer-feedback", headers, b"{}")
    assert status == 401  # no ingestion token here: refused before the body, too
    assert took < 5


def test_a_huge_chunked_body_is_refused_once_it_passes_the_limit(bot: RunningBot) -> None:
    """No length announced: reading stops at the limit (600 KiB sent, 512 KiB allowed)."""
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(10)) + b"0\r\n\r\n"
    status, _ = raw_post(bot, "/slack/events", {"Transfer-Encoding": "chunked"}, body)
    assert status == 413


def command_body(text: str = "skill 11 60m") -> str:
    return urlencode(slash_payload("/csat", text, "http://127.0.0.1:9/response/1"))


@pytest.mark.parametrize(
    ("label", "headers", "body", "status"),
    [
        ("unsigned", {"Content-Type": "application/x-www-form-urlencoded"}, command_body(), 401),
        (
            "timestamp abc",
            {**sign(SECRET, command_body()), "X-Slack-Request-Timestamp": "abc"},
            command_body(),
            401,
        ),
        (
            "stale",
            sign(SECRET, command_body(), int(time.time()) - 3600),
            command_body(),
            401,
        ),
        *(
            (
                f"timestamp of {n} digits",
                {**sign(SECRET, command_body()), "X-Slack-Request-Timestamp": "9" * n},
                command_body(),
                401,
            )
            for n in (13, 400, 5000)  # past a float, past int()'s digit limit
        ),
    ],
)
def test_unsigned_and_stale_requests_are_401(
    bot: RunningBot, label: str, headers: dict[str, str], body: str, status: int
) -> None:
    answer = bot.http.post("/slack/events", content=body.encode(), headers=headers)
    assert answer.status_code == status, label


def signed_bytes(body: bytes, content_type: str) -> dict[str, str]:
    """Signed as Slack signs (a body that is not UTF-8 is refused before its signature)."""
    return {**sign(SECRET, body.decode("utf-8", "replace")), "Content-Type": content_type}


@pytest.mark.parametrize(
    ("label", "body", "content_type"),
    [
        ("not UTF-8", b"command=%2Fcsat&text=\xff\xfe", "application/x-www-form-urlencoded"),
        ("payload not JSON", b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        ("JSON type on a form body", command_body().encode(), "application/json"),
    ],
)
def test_bodies_bolt_cannot_read_are_400_without_a_traceback(
    bot: RunningBot, label: str, body: bytes, content_type: str
) -> None:
    answer = bot.http.post("/slack/events", content=body, headers=signed_bytes(body, content_type))
    assert answer.status_code == 400, label


FUZZED = [  # where a person's words go, in both commands
    ("/csat", "{h}"), ("/csat", "skill 4 {h}"), ("/csat", "agent {h}"),
    ("/agent-states", "all {h}"),
]  # fmt: skip


def test_signed_hostile_commands_are_acked_and_answered_without_pinging(
    bot: RunningBot, slack: SimulatedSlack
) -> None:
    """Through the real entry point: signed slash commands carrying hostile text."""
    asked: list[tuple[str, str]] = []
    for hostile in HOSTILE[::5]:
        for command, text in FUZZED:
            url = slack.response_url()
            payload = slash_payload(command, text.format(h=hostile), url)
            body = urlencode(payload, errors="surrogatepass").encode()  # cut emoji: %ED%A0%BD
            headers = signed_bytes(body, "application/x-www-form-urlencoded")
            ack = bot.http.post("/slack/events", content=body, headers=headers)
            assert ack.status_code == 200, (command, text, hostile[:40], ack.text[:200])
            said = ack.json()
            assert said["text"] and not pings(ack.text), (hostile[:40], ack.text[:200])
            if said["text"].startswith(":hourglass"):
                asked.append((url, hostile))
    assert asked  # some of them were questions the bot went to LivePerson with
    for url, hostile in asked:
        slack.wait_for(url.removeprefix(slack.url))
        (answer,) = slack.responses(url)
        assert "Something went wrong" not in answer.body.decode()
        assert not pings(json.dumps(answer.json(), ensure_ascii=False)), hostile[:40]


def test_no_refusal_left_a_traceback(bot: RunningBot, slack: SimulatedSlack) -> None:
    """Runs after the others in this module, on the same process: its log is clean."""
    form = "application/x-www-form-urlencoded"
    for body, headers in [
        (b"payload=%7Bnot+json", signed_bytes(b"payload=%7Bnot+json", form)),
        (b"x" * 10, {"Content-Type": "application/json"}),
    ]:
        bot.http.post("/slack/events", content=body, headers=headers)
    answer = bot.http.post(
        "/slack/events", content=b'{"type": "url_verification"}', headers=signed_bytes(
            b'{"type": "url_verification"}', "application/json"
        ),
    )  # fmt: skip
    assert answer.status_code in (200, 400, 404)
    log = bot.log.read_text()
    assert "Traceback" not in log
    assert "refused a request to /slack/events" in log

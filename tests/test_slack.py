"""Poster: about one message a second per channel, 429s waited out, fixable errors explained."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot import slack
from bot.demo.sim.slack import SimulatedSlack
from bot.errors import SlackError
from bot.render import Renderer
from bot.slack import Poster
from tests.fakes.clock import FakeClock
from tests.fakes.hostile import HOSTILE, pings

MESSAGE = {
    "text": "CSAT digest",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
}


@pytest.fixture(scope="module")
def module_slack() -> Iterator[SimulatedSlack]:
    """A Slack of this module's own: its rate-limit flag is nobody else's."""
    with SimulatedSlack() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def sim(module_slack: SimulatedSlack) -> Iterator[SimulatedSlack]:
    yield module_slack
    module_slack.rate_limit = False


def posts_to(sim: SimulatedSlack, channel: str) -> list[Any]:
    return [c for c in sim.calls_to("/api/chat.postMessage") if c.data().get("channel") == channel]


class FakeWeb:
    """Records when (on the fake clock) each call reached Slack; refuses with `error`."""

    def __init__(self, time: FakeClock, error: str | None = None) -> None:
        self.time = time
        self.error = error
        self.calls: list[tuple[float, str, str]] = []
        self._ts = itertools.count(1)

    def _answer(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((self.time.seconds, method, kwargs["channel"]))
        if self.error:
            raise SlackApiError(
                "The request to the Slack API failed.", {"ok": False, "error": self.error}
            )
        return {"ok": True, "ts": f"1700000000.{next(self._ts):06d}"}

    async def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        return self._answer("chat.postMessage", kwargs)

    async def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        return self._answer("chat.update", kwargs)

    async def files_upload_v2(self, **kwargs: Any) -> dict[str, Any]:
        return self._answer("files.upload", kwargs)


def poster(error: str | None = None) -> tuple[Poster, FakeWeb, FakeClock]:
    time = FakeClock(100.0)
    web = FakeWeb(time, error)
    return Poster(web, monotonic=time.monotonic, sleep=time.sleep), web, time  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_two_posts_to_one_channel_are_a_second_apart() -> None:
    subject, web, time = poster()
    first = await subject.post("C1", MESSAGE)
    second = await subject.post("C1", MESSAGE)
    assert (first, second) == ("1700000000.000001", "1700000000.000002")
    assert time.sleeps == [1.0]
    assert web.calls == [(100.0, "chat.postMessage", "C1"), (101.0, "chat.postMessage", "C1")]


@pytest.mark.anyio
async def test_only_the_rest_of_the_second_is_waited() -> None:
    subject, web, time = poster()
    await subject.post("C1", MESSAGE)
    time.seconds += 0.25
    await subject.post("C1", MESSAGE)
    time.seconds += 5.0
    await subject.post("C1", MESSAGE)
    assert time.sleeps == [pytest.approx(0.75)]
    assert [at for at, _, _ in web.calls] == [100.0, 101.0, 106.0]


@pytest.mark.anyio
async def test_different_channels_do_not_wait_for_each_other() -> None:
    subject, web, time = poster()
    for channel in ("C1", "C2", "C3"):
        await subject.post(channel, MESSAGE)
    assert time.sleeps == []
    await subject.post("C2", MESSAGE)
    assert time.sleeps == [1.0]
    assert [(at, channel) for at, _, channel in web.calls] == [
        (100.0, "C1"), (100.0, "C2"), (100.0, "C3"), (101.0, "C2"),
    ]  # fmt: skip


@pytest.mark.anyio
async def test_concurrent_posts_to_one_channel_queue_a_second_apart() -> None:
    subject, web, time = poster()
    await asyncio.gather(*(subject.post("C1", MESSAGE) for _ in range(3)))
    assert time.sleeps == [1.0, 1.0]
    assert [at for at, _, _ in web.calls] == [100.0, 101.0, 102.0]


@pytest.mark.anyio
async def test_thread_replies_updates_and_files_share_the_channel_pace() -> None:
    subject, web, _ = poster()
    ts = await subject.post("C1", MESSAGE)
    await subject.post("C1", MESSAGE, thread_ts=ts)
    await subject.update("C1", ts, MESSAGE)
    await subject.upload("C1", ts, "chart.png", b"\x89PNG", "Chart")
    assert web.calls == [
        (100.0, "chat.postMessage", "C1"),
        (101.0, "chat.postMessage", "C1"),
        (102.0, "chat.update", "C1"),
        (103.0, "files.upload", "C1"),
    ]


@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        ("not_in_channel",
         "The bot is not in channel C0LEADS: invite it with `/invite @CSAT Bot`."),
        ("channel_not_found", "Channel C0LEADS does not exist or the bot cannot see it: check the "
                              "channel id in bot.toml and invite the bot."),
        ("is_archived", "Channel C0LEADS is archived: pick another channel in bot.toml."),
        ("invalid_auth", "Slack refused the bot token (SLACK_BOT_TOKEN)."),
        ("ratelimited",
         "Slack kept answering 'rate limited' for channel C0LEADS; try again later."),
        ("msg_too_long", "Slack refused the message in C0LEADS (msg_too_long)."),
    ],
)  # fmt: skip
@pytest.mark.anyio
async def test_slack_refusals_become_sentences(code: str, sentence: str) -> None:
    subject, _, time = poster(error=code)
    with pytest.raises(SlackError) as raised:
        await subject.post("C0LEADS", MESSAGE)
    assert (str(raised.value), raised.value.code) == (sentence, code)
    assert isinstance(raised.value.__cause__, SlackApiError)
    with pytest.raises(SlackError):  # a refused call still counts for the channel's pace
        await subject.upload("C0LEADS", None, "t.csv", b"a,b\n", "table")
    assert time.sleeps == [1.0]


# --- against the simulated Slack, through the real slack_sdk client ---------------------


@pytest.mark.parametrize(
    ("token", "channel", "sentence"),
    [
        ("xoxb-test", "C0NOTINPOSTER", "The bot is not in channel C0NOTINPOSTER: invite it"),
        (
            "xoxb-test",
            "C0GONEPOSTER",
            "Channel C0GONEPOSTER does not exist or the bot cannot see it",
        ),
        ("xoxb-invalid", "C0POSTER", "Slack refused the bot token (SLACK_BOT_TOKEN)."),
    ],
)
@pytest.mark.anyio
async def test_real_client_errors_become_sentences(
    sim: SimulatedSlack, token: str, channel: str, sentence: str
) -> None:
    subject = Poster(slack.client(token, sim.api_url))
    with pytest.raises(SlackError) as raised:
        await subject.post(channel, MESSAGE)
    assert str(raised.value).startswith(sentence)
    assert "Traceback" not in str(raised.value)


@pytest.mark.anyio
async def test_paced_posts_to_a_rate_limited_channel_both_arrive(sim: SimulatedSlack) -> None:
    sim.rate_limit = True
    subject = Poster(slack.client("xoxb-test", sim.api_url))
    first = await subject.post("C0PACED", MESSAGE)
    second = await subject.post("C0PACED", MESSAGE)
    assert first != second
    calls = posts_to(sim, "C0PACED")
    assert len(calls) == 2  # no 429 on the way
    assert calls[1].at - calls[0].at >= 1.0


@pytest.mark.anyio
async def test_a_429_is_waited_out_and_retried(sim: SimulatedSlack) -> None:
    """Two posters (two processes) share nothing: the second one meets Slack's 429."""
    sim.rate_limit = True
    one = Poster(slack.client("xoxb-test", sim.api_url))
    other = Poster(slack.client("xoxb-test", sim.api_url))
    first = await one.post("C0RETRIED", MESSAGE)
    second = await other.post("C0RETRIED", MESSAGE)
    assert first != second
    calls = posts_to(sim, "C0RETRIED")
    assert len(calls) == 3  # the second post was answered 429 once, then went through
    assert calls[2].at - calls[1].at >= 1.0  # Retry-After: 1 was honoured


@pytest.mark.anyio
async def test_slack_out_of_reach_is_a_slack_error_not_a_traceback() -> None:
    from tests.fakes.process import free_port

    web = slack.client("xoxb-test", f"http://127.0.0.1:{free_port()}/api/", retries=0)
    with pytest.raises(SlackError) as caught:
        await Poster(web).post("C0NOWHERE", {"text": "hi", "blocks": []})
    assert str(caught.value).startswith("Slack could not be reached to post in C0NOWHERE")
    assert caught.value.code == "unreachable"


@pytest.mark.parametrize(
    ("status", "content_type", "body", "what"),
    [
        (502, "text/html", b"<html><h1>502 Bad Gateway</h1></html>", "HTTP 502"),
        (200, "text/html", b"<html>Maintenance</html>", "HTTP 200"),
        (200, "application/json", b"<html>not json</html>", "HTTP 200"),
        (200, "application/json", b"[1, 2, 3]", "AttributeError"),
        (200, "application/json", b'{"ok": true}', "no ts"),
        (200, "application/json", b'{"ok": true, "ts": 17}', "no ts"),
        (500, "text/plain", b"", "HTTP 500"),
    ],
)
@pytest.mark.anyio
async def test_an_answer_that_is_not_slacks_json_is_unreadable_not_a_traceback(
    sim: SimulatedSlack, status: int, content_type: str, body: bytes, what: str
) -> None:
    """A proxy's HTML page, a truncated body: one sentence, code 'unreadable'."""
    sim.fail("/api/chat.postMessage", status, body, headers={"Content-Type": content_type})
    web = slack.client("xoxb-test", sim.api_url, retries=0)
    with pytest.raises(SlackError) as caught:
        await Poster(web).post("C0HTML", MESSAGE)
    assert str(caught.value) == (
        f"Slack's answer to a post in C0HTML could not be read ({what}); try again later."
    )
    assert caught.value.code == "unreadable"


@pytest.mark.anyio
async def test_a_slack_that_drips_its_answer_is_cut_at_the_deadline(sim: SimulatedSlack) -> None:
    """aiohttp's time-out is per request; the deadline also bounds 429 waits and uploads."""
    sim.fail("/api/chat.postMessage", 200, {"ok": True, "ts": "1.000001"}, drip=0.05)
    subject = Poster(slack.client("xoxb-test", sim.api_url), deadline=0.3)
    with pytest.raises(SlackError) as caught:
        await subject.post("C0DRIP", MESSAGE)
    assert str(caught.value) == "Slack did not answer within 0.3 s to post in C0DRIP."
    assert caught.value.code == "timeout"
    assert await subject.post("C0DRIP", MESSAGE)  # the next call is not held up


@pytest.mark.anyio
async def test_a_429_wait_counts_against_the_deadline(sim: SimulatedSlack) -> None:
    sim.fail("/api/chat.postMessage", 429, {"ok": False, "error": "ratelimited"},
             headers={"Retry-After": "30"})  # fmt: skip
    subject = Poster(slack.client("xoxb-test", sim.api_url), deadline=0.3)
    with pytest.raises(SlackError) as caught:
        await subject.post("C0SLOW429", MESSAGE)
    assert caught.value.code == "timeout"


@pytest.mark.parametrize("hostile", HOSTILE[::3], ids=lambda h: repr(h[:20]))
@pytest.mark.anyio
async def test_whatever_slack_answers_is_one_clean_sentence(
    sim: SimulatedSlack, hostile: str
) -> None:
    """An error code or a ts that is not Slack's cannot break a log line, a stored run or
    the message that tells the person who clicked."""
    sim.fail("/api/chat.postMessage", 200, {"ok": False, "error": hostile})
    sim.fail("/api/chat.postMessage", 200, {"ok": True, "ts": hostile})
    time = FakeClock(100.0)  # the second post need not wait a real second
    web = slack.client("xoxb-test", sim.api_url, retries=0)
    subject = Poster(web, monotonic=time.monotonic, sleep=time.sleep)
    errors = []
    for _ in range(2):
        try:
            await subject.post("C0ODD", MESSAGE)
        except SlackError as exc:
            errors.append(exc)
    sim.faults.clear()
    assert len(errors) == 2 or _is_slacks(hostile)
    for exc in errors:
        line = str(exc)
        assert line.isprintable() and not pings(line), line
        reply = Renderer().render("button_error.yml.j2", code="slack",
                                  details={"slack_code": exc.code})  # fmt: skip
        assert not pings(reply["text"])


@pytest.mark.anyio
async def test_an_answer_without_a_proper_ts_is_unreadable(sim: SimulatedSlack) -> None:
    for ts in ("<!channel>", "1.2.3", "", "1" * 50):
        sim.fail("/api/chat.postMessage", 200, {"ok": True, "ts": ts})
        with pytest.raises(SlackError) as caught:
            await Poster(slack.client("xoxb-test", sim.api_url)).post("C0TS", MESSAGE)
        assert caught.value.code == "unreadable"


def _is_slacks(text: str) -> bool:
    """Text that reads as Slack's own error code or ts: passed on as it is."""
    return bool(re.fullmatch(r"[a-z0-9_.]{1,64}|[0-9]{1,12}\.[0-9]{1,12}", text))

"""`check_online` in-process against the simulated Slack and vendors: every way a call can
fail is one line in words (429, 5xx, garbage, a time-out, a missing scope), and the
digests it checks are the ones it is given."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot import config
from bot.check import online
from bot.check.online import Finding, check_online
from bot.demo.sim.livechat import SimulatedLiveChat
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack

TOML = """
[[digest]]
name = "daily"
channel = "C0LEADS01"
cron = "0 9 * * 1-5"
[alerts]
mention = "<!subteam^S0LEADS>"
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatedSlack]:
    with SimulatedSlack() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def lp() -> Iterator[SimulatedLivePerson]:
    with SimulatedLivePerson() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def lc() -> Iterator[SimulatedLiveChat]:
    with SimulatedLiveChat() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(autouse=True)
def _clean(sim: SimulatedSlack, lp: SimulatedLivePerson, lc: SimulatedLiveChat) -> Iterator[None]:
    yield
    for server in (sim, lp, lc):
        server.faults.clear()
        server.delay = 0.0


def settings(tmp_path: Path, sim: SimulatedSlack, toml: str = TOML, **env: str) -> config.Settings:
    path = tmp_path / "bot.toml"
    path.write_text(toml)
    base = {
        "BOT_CONFIG": str(path),
        "BOT_DB": str(tmp_path / "bot.db"),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": sim.api_url,
    }
    return config.load(base | env)


def lines(found: list[Finding]) -> list[str]:
    return [f.line for f in found]


@pytest.mark.anyio
async def test_the_digests_checked_are_the_ones_given(tmp_path: Path, sim: SimulatedSlack) -> None:
    """Digests made in Slack are not in the file: they are passed in beside its own."""
    given = settings(tmp_path, sim)
    made_in_slack = replace(given.digests[0], name="from-slack", channel="C0GONE0042")
    found = lines(await check_online(given, [*given.digests, made_in_slack]))
    assert any(
        line.startswith("slack error: channel C0GONE0042 (digest from-slack)") for line in found
    )
    assert any("(C0LEADS01; digest daily)" in line for line in found)
    assert not any("C0GONE0042" in line for line in lines(await check_online(given, given.digests)))
    assert lines(await check_online(given, []))[1:] == [
        "slack: user group S0LEADS ([alerts] mention): @support-leads exists"
    ]


@pytest.mark.anyio
async def test_alert_rules_set_in_slack_are_checked_when_given(
    tmp_path: Path, sim: SimulatedSlack
) -> None:
    given = settings(tmp_path, sim)
    rules = replace(given.alerts, channel="C0ARCHIVED9", mention="<!subteam^S0GONE>")
    found = lines(await check_online(given, [], alerts=rules))
    assert found[1].startswith(
        "slack error: channel #sim-c0archived9 (C0ARCHIVED9; [alerts] channel) is archived"
    )
    assert found[2].startswith("slack error: user group S0GONE ([alerts] mention) does not exist")


@pytest.mark.anyio
async def test_no_slack_token_is_one_line(tmp_path: Path, sim: SimulatedSlack) -> None:
    given = settings(tmp_path, sim)
    given = replace(given, slack=replace(given.slack, bot_token=None))
    assert lines(await check_online(given, given.digests)) == [
        "slack error: SLACK_BOT_TOKEN is not set: set the bot's token (OAuth & Permissions, "
        "xoxb-…) to check Slack"
    ]


@pytest.mark.anyio
async def test_slack_rate_limiting_is_a_line(tmp_path: Path, sim: SimulatedSlack) -> None:
    given = settings(tmp_path, sim, SLACK_BOT_TOKEN="xoxb-429")
    assert lines(await check_online(given, given.digests)) == [
        "slack error: Slack is rate-limiting the bot (HTTP 429): try again in a minute; "
        "channels and user groups were not checked"
    ]


@pytest.mark.anyio
async def test_slack_answering_500_is_a_line(tmp_path: Path, sim: SimulatedSlack) -> None:
    sim.fail("/api/conversations.info", 503, b"<html>unavailable</html>")
    given = settings(tmp_path, sim)
    found = lines(await check_online(given, given.digests))
    assert found[1] == (
        "slack error: channel C0LEADS01 (digest daily) could not be checked: Slack answered "
        "HTTP 503: try again in a few minutes"
    )
    assert found[2].startswith("slack: user group S0LEADS")  # the next check goes on


@pytest.mark.anyio
async def test_garbage_from_slack_is_a_line(tmp_path: Path, sim: SimulatedSlack) -> None:
    sim.fail("/api/auth.test", 200, b"<html>a captive portal</html>")
    given = settings(tmp_path, sim)
    (line,) = lines(await check_online(given, given.digests))
    assert line.startswith("slack error: Slack's answer could not be read (")
    assert f"check SLACK_API_URL ({sim.api_url})" in line
    assert line.endswith("; channels and user groups were not checked")


@pytest.mark.anyio
async def test_a_json_answer_without_ok_is_a_line(tmp_path: Path, sim: SimulatedSlack) -> None:
    sim.fail("/api/usergroups.list", 200, [1, 2, 3])
    given = settings(tmp_path, sim)
    found = lines(await check_online(given, given.digests))
    assert found[-1].startswith(
        "slack error: the user groups S0LEADS could not be checked: Slack's answer could not "
        "be read"
    )


@pytest.mark.anyio
async def test_slack_that_does_not_answer_in_time_is_a_line(
    tmp_path: Path, sim: SimulatedSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(online, "SLACK_SECONDS", 0.3)
    sim.fail("/api/auth.test", 200, {"ok": True}, delay=1.0)
    given = settings(tmp_path, sim)
    assert lines(await check_online(given, given.digests)) == [
        f"slack error: Slack did not answer within 0.3 s ({sim.api_url}): try again, or check "
        "the network and SLACK_API_URL; channels and user groups were not checked"
    ]


@pytest.mark.anyio
async def test_slack_that_cannot_be_reached_is_a_line(tmp_path: Path, sim: SimulatedSlack) -> None:
    given = settings(tmp_path, sim, SLACK_API_URL="http://127.0.0.1:9/api/")
    (line,) = lines(await check_online(given, given.digests))
    assert line.startswith("slack error: Slack could not be reached at http://127.0.0.1:9/api/ (")
    assert "check the network and SLACK_API_URL" in line


@pytest.mark.anyio
async def test_a_missing_scope_says_which_to_add(tmp_path: Path, sim: SimulatedSlack) -> None:
    sim.fail(
        "/api/conversations.info",
        200,
        {
            "ok": False,
            "error": "missing_scope",
            "needed": "channels:read",
            "provided": "chat:write",
        },
    )
    sim.fail("/api/usergroups.list", 200, {"ok": False, "error": "missing_scope"})
    given = settings(tmp_path, sim)
    found = lines(await check_online(given, given.digests))
    assert found[1:] == [
        "slack error: channel C0LEADS01 (digest daily) could not be checked: the Slack app lacks "
        "the channels:read scope: add it from manifest.yml and reinstall the app",
        "slack error: the user groups S0LEADS could not be checked: the Slack app lacks a "
        "scope: add it from manifest.yml and reinstall the app",
    ]


@pytest.mark.anyio
async def test_a_disabled_user_group_pings_nobody(tmp_path: Path, sim: SimulatedSlack) -> None:
    sim.fail(
        "/api/usergroups.list",
        200,
        {
            "ok": True,
            "usergroups": [{"id": "S0LEADS", "handle": "support-leads", "date_delete": 1}],
        },
    )
    given = settings(tmp_path, sim)
    assert lines(await check_online(given, given.digests))[-1] == (
        "slack error: user group S0LEADS ([alerts] mention) (@support-leads) is disabled: enable "
        "it in Slack, or name another"
    )


@pytest.mark.anyio
async def test_a_vendor_that_does_not_answer_in_time(
    tmp_path: Path, sim: SimulatedSlack, lp: SimulatedLivePerson
) -> None:
    lp.fail("/msgcsatdistribution", 200, {}, delay=2.0)
    given = settings(tmp_path, sim, BOT_VENDOR_TIMEOUT="0.5", **lp.env())
    found = lines(await check_online(given, []))
    assert found[-1].startswith(
        "liveperson error: LivePerson did not answer in time (no answer from"
    )
    assert found[-1].endswith(
        ": try again; if it lasts, check the network, BOT_VENDOR_TIMEOUT and "
        "LIVEPERSON_DOMAIN_API_URL (and LIVEPERSON_*_URL, when set)"
    )


@pytest.mark.anyio
async def test_garbage_from_a_vendor_and_a_vendor_rate_limiting(
    tmp_path: Path, sim: SimulatedSlack, lp: SimulatedLivePerson, lc: SimulatedLiveChat
) -> None:
    lp.fail("/msgcsatdistribution", 200, b"<html>maintenance</html>")
    lc.fail("/reports/chats/ratings", 429, headers={"Retry-After": "60"})
    given = settings(tmp_path, sim, **lp.env(), **lc.env())
    found = lines(await check_online(given, []))
    assert found[-2].startswith("liveperson error: LivePerson sent an answer the bot cannot read")
    assert found[-2].endswith(
        ": check LIVEPERSON_DOMAIN_API_URL (and LIVEPERSON_*_URL, when set), or try again later"
    )
    assert found[-1] == (
        "livechat error: LiveChat is rate-limiting the bot (HTTP 429 after 1 tries): try again "
        "in a minute"
    )


@pytest.mark.anyio
async def test_the_vendors_that_are_not_configured_are_not_asked(
    tmp_path: Path, sim: SimulatedSlack, lp: SimulatedLivePerson, lc: SimulatedLiveChat
) -> None:
    before = len(lp.calls), len(lc.calls)
    given = settings(tmp_path, sim)
    assert not any(
        line.startswith(("liveperson", "livechat", "maestroqa"))
        for line in lines(await check_online(given, []))
    )
    assert (len(lp.calls), len(lc.calls)) == before

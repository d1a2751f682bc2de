"""`python -m bot check --online` against the simulated Slack and vendors over loopback:
each problem one line that says what to do, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo.sim.livechat import SimulatedLiveChat
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from tests.fakes.process import ROOT, clean_env

GOOD = """
[[digest]]
name = "csat-daily"
channel = "C0LEADS01"
cron = "0 9 * * 1-5"
[[digest]]
name = "lc-daily"
source = "livechat"
channel = "G0PRIVATE1"
cron = "0 9 * * 1-5"
[[digest]]
name = "watch"
channel = "C0GONE0001"
cron = "*/15 * * * *"
post = false
[alerts]
channel = "C0LEADS01"
mention = "<!subteam^S0LEADS>"
[slack]
admins = ["U0ADMIN", "S0LEADS"]
"""


@pytest.fixture(scope="module")
def sims() -> Iterator[tuple[SimulatedSlack, SimulatedLivePerson, SimulatedLiveChat]]:
    """Simulators of this module's own: the faults and calls here are nobody else's."""
    with SimulatedSlack() as slack, SimulatedLivePerson() as lp, SimulatedLiveChat() as lc:
        yield slack, lp, lc


def check_online(
    tmp_path: Path,
    toml: str,
    sims: tuple[SimulatedSlack, SimulatedLivePerson, SimulatedLiveChat],
    **env: str,
) -> tuple[int, list[str], str]:
    """Run the CLI; its exit code, the lines the online part printed, and all it printed."""
    slack, lp, lc = sims
    config = tmp_path / "bot.toml"
    config.write_text(toml)
    base = {
        "BOT_CONFIG": str(config),
        "BOT_DB": str(tmp_path / "bot.db"),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.api_url,
        "BOT_VENDOR_TIMEOUT": "3",
        **lp.env(),
        **lc.env(),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--online"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=clean_env(**(base | env)),
        timeout=120,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    online = ("slack", "liveperson", "livechat", "maestroqa")
    lines = [line for line in result.stdout.splitlines() if line.startswith(online)]
    return result.returncode, lines, result.stdout


def test_a_good_setup_is_ok_line_by_line(
    tmp_path: Path, sims: tuple[SimulatedSlack, SimulatedLivePerson, SimulatedLiveChat]
) -> None:
    code, lines, out = check_online(tmp_path, GOOD, sims, MAESTROQA_API_TOKEN="mqa")
    assert lines == [
        "slack: the bot token works: workspace Sim (T0SIM), bot user @csat-bot (U0BOT)",
        "slack: channel #sim-c0leads01 (C0LEADS01; digest csat-daily, [alerts] channel): the "
        "bot is a member",
        "slack: channel #sim-g0private1 (G0PRIVATE1; digest lc-daily): private, the bot is a "
        "member",
        "slack: user group S0LEADS ([alerts] mention, [slack] admins): @support-leads exists",
        "liveperson: LivePerson answers with the configured credentials",
        "livechat: LiveChat answers with the configured credentials",
        "maestroqa note: MaestroQA's token is not checked: MaestroQA has no read-only call to "
        "try it with (`python -m bot outbox` shows whether forwarding works)",
    ]  # the watch posts nothing: its channel is not asked about
    assert code == 0, out


def test_channels_and_user_groups_slack_does_not_have(
    tmp_path: Path, sims: tuple[SimulatedSlack, SimulatedLivePerson, SimulatedLiveChat]
) -> None:
    toml = (
        GOOD.replace("G0PRIVATE1", "G0NOTIN001")  # private, and the bot was never invited
        .replace('name = "watch"', 'name = "gone"')
        .replace("post = false", "")
        .replace('channel = "C0LEADS01"\nmention', 'channel = "C0NOTIN001"\nmention')
        .replace('"S0LEADS"]', '"S0NOSUCH"]')
    )
    code, lines, _ = check_online(tmp_path, toml, sims)
    assert code == 1
    not_found = (
        "was not found: it does not exist, or it is private and the bot is not in it: check "
        "the id (the channel's details, at the bottom), or `/invite @csat-bot` in it"
    )
    assert f"slack error: channel G0NOTIN001 (digest lc-daily) {not_found}" in lines
    assert f"slack error: channel C0GONE0001 (digest gone) {not_found}" in lines
    assert (
        "slack warning: channel #sim-c0notin001 (C0NOTIN001; [alerts] channel): the bot is not "
        "a member; it can post there through the chat:write.public scope, but `/invite "
        "@csat-bot` in it to make it one"
    ) in lines
    assert "slack: user group S0LEADS ([alerts] mention): @support-leads exists" in lines
    assert (
        "slack error: user group S0NOSUCH ([slack] admins) does not exist in this workspace: "
        "use a user group's id (this workspace has @support-leads (S0LEADS))"
    ) in lines
    assert "liveperson: LivePerson answers with the configured credentials" in lines


def test_a_private_channel_without_the_bot_is_an_error_when_slack_shows_it(
    tmp_path: Path, sims: tuple[SimulatedSlack, SimulatedLivePerson, SimulatedLiveChat]
) -> None:
    """Slack answers a bot outside a private channel as "not found"; should it ever show
    the channel, not being in it is still an error (a public one is only a warning)."""
    slack, _, _ = sims
    slack.fail(
        "/api/conversations.info",
        200,
        {"ok": True, "channel": {"id": "G0PRIVATE1", "name": "leads-private",
                                 "is_private": True, "is_member": False, "is_archived": False}},
    )  # fmt: skip
    toml = GOOD.replace('channel = "C0LEADS01"', 'channel = "G0PRIVATE1"', 1)
    toml = toml.replace('channel = "C0LEADS01"', "", 1)  # the [alerts] channel: none
    code, lines, _ = check_online(tmp_path, toml, sims)
    slack.faults.clear()
    assert code == 1
    assert (
        "slack error: channel #leads-private (G0PRIVATE1; digest csat-daily, digest lc-daily) "
        "is private and the bot is not in it, so it cannot post there: `/invite @csat-bot` in it"
    ) in lines


def test_an_invalid_slack_token_is_one_line_and_the_vendors_are_still_checked(
    tmp_path: Path, sims: tuple[SimulatedSlack, SimulatedLivePerson, SimulatedLiveChat]
) -> None:
    code, lines, _ = check_online(tmp_path, GOOD, sims, SLACK_BOT_TOKEN="xoxb-invalid")
    assert code == 1
    assert lines == [
        "slack error: Slack refused SLACK_BOT_TOKEN (invalid_auth): set the app's Bot User "
        "OAuth Token (xoxb-…) from OAuth & Permissions; channels and user groups were not "
        "checked",
        "liveperson: LivePerson answers with the configured credentials",
        "livechat: LiveChat answers with the configured credentials",
    ]


def test_vendors_answering_401_and_500_are_lines_that_say_what_to_do(
    tmp_path: Path, sims: tuple[SimulatedSlack, SimulatedLivePerson, SimulatedLiveChat]
) -> None:
    _, lp, lc = sims
    # LivePerson refuses the data call twice (the bot fetches a new token once on a 401)
    lp.fail("/msgcsatdistribution", 401, {"error": "unauthorized"}, times=2)
    lc.fail("/reports/chats/ratings", 500, times=3)  # every try
    try:
        code, lines, _ = check_online(tmp_path, GOOD, sims)
    finally:
        lp.faults.clear()
        lc.faults.clear()
    assert code == 1
    vendors = [line for line in lines if line.startswith(("liveperson", "livechat"))]
    assert len(vendors) == 2, lines
    assert vendors[0].startswith(
        "liveperson error: LivePerson's data API refused the bot's OAuth 2.0 token, fresh from "
        "its sentinel (token V1). An admin should set LIVEPERSON_TOKEN_VERSION=v2"
    )
    assert "HTTP 401" in vendors[0] or "unauthorized" in vendors[0]
    assert vendors[1] == (
        "livechat error: LiveChat is unavailable (HTTP 500 after 3 tries): try again in a few "
        "minutes; if it lasts, check LIVECHAT_API_URL"
    )
    assert "slack: the bot token works" in lines[0]


def test_a_livechat_token_it_refuses(
    tmp_path: Path, sims: tuple[SimulatedSlack, SimulatedLivePerson, SimulatedLiveChat]
) -> None:
    code, lines, _ = check_online(tmp_path, GOOD, sims, LIVECHAT_TOKEN="not-the-token")
    assert code == 1
    assert (
        "livechat error: LiveChat refused the bot's credentials (authentication: Invalid access "
        "token): check LIVECHAT_TOKEN (and LIVECHAT_ACCOUNT_ID for a Personal Access Token)"
    ) in lines

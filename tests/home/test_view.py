"""The home view: what it shows an admin and anyone else, its links, its menus, and that no
state, however large or hostile, breaks Slack's rules or calls anyone in."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from functools import reduce
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.check.samples import NOW, home_alert, home_digest, home_state
from bot.home.state import AlertSettings, AuditLine, HomeState
from bot.home.view import (
    ALERTS_PER_SECTION,
    MAX_VALUE,
    called_in,
    fit,
    home_view,
    permalink,
    read_action,
)
from bot.render import Renderer, check_message
from bot.render.renderer import MAX_VIEW_BLOCKS
from tests.fakes.hostile import HOSTILE, pings

RENDERER = Renderer()
ADMIN_ACTIONS = {"home_digest", "home_add_digest", "home_alerts"}
URL = "https://acme.slack.com/"


def view(state: HomeState) -> dict[str, Any]:
    return home_view(RENDERER, state)


def strings(value: Any) -> list[str]:
    """Every string in a view."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def action_ids(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["action_id"]} if "action_id" in value else set()
        return found.union(*(action_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(action_ids(v) for v in value))
    return set()


def texts(found: dict[str, Any]) -> list[str]:
    """Each section's and context's text, in order."""
    out = []
    for block in found["blocks"]:
        if block["type"] in ("section", "header"):
            out.append(block["text"]["text"])
        elif block["type"] == "context":
            out.extend(e["text"] for e in block["elements"])
    return out


def digest_section(found: dict[str, Any], name: str) -> dict[str, Any]:
    return next(
        b
        for b in found["blocks"]
        if b["type"] == "section" and b["text"]["text"].startswith(f"*{name}")
    )


def menu(section: dict[str, Any]) -> list[str]:
    """The values of a digest's overflow menu; [] without one."""
    accessory = section.get("accessory")
    return [o["value"] for o in accessory["options"]] if accessory else []


def within_limits(found: dict[str, Any]) -> None:
    """A home view Slack takes: the model's checks, the renderer's, and every menu's."""
    assert found["type"] == "home" and found["callback_id"] == "home"
    View(**found).validate_json()
    assert len(found["blocks"]) <= MAX_VIEW_BLOCKS
    assert check_message({**found, "text": "Home"}) == []
    for block in found["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if accessory := block.get("accessory"):
            assert 2 <= len(accessory["options"]) <= 5
            assert all(len(o["text"]["text"]) <= 75 for o in accessory["options"])
            assert all(len(o["value"]) <= MAX_VALUE for o in accessory["options"])


def test_the_view_of_a_sample_state() -> None:
    found = view(home_state())
    within_limits(found)
    shown = texts(found)
    assert shown[0] == ":bar_chart: Digests, alerts and sources"
    assert shown[1].startswith("As of <!date^1772458140^{date_short_pretty} {time}|")
    assert shown[2:4] == [
        "Sources",
        "*LivePerson* (default) · :white_check_mark: answered 3m ago\n"
        "*LiveChat* · :warning: failed 10m ago: LivePerson refused the credentials (401)"
        " · last answered 2h ago\n"
        "*Ingested surveys* · not asked yet",
    ]
    assert digest_section(found, "csat-daily")["text"]["text"] == (
        "*csat-daily* · CSAT · LivePerson\n"
        "all skills · last 24h · weekdays at 09:00 (Europe/Berlin) · <#C0123456789>\n"
        "Next run: <!date^1772528400^{date_short_pretty} {time}|2026-03-03 09:00 UTC>"
        " · Last run: :white_check_mark: posted 4h ago"
        f" · <{URL}archives/C0123456789/p1772442000000100|see the message>\n"
        "_From bot.toml: change it there._"
    )
    watch = digest_section(found, "billing-watch")["text"]["text"]
    assert "· watch only, posts nothing" in watch
    assert "the whole account · last 1h · every 15 minutes (Europe/Berlin)" in watch
    assert "groups 1, 2 · last 24h" in digest_section(found, "livechat-groups")["text"]["text"]
    assert "skill 4 · last 7d" in digest_section(found, "weekly")["text"]["text"]
    assert "Last run: never run yet" in digest_section(found, "weekly")["text"]["text"]


def test_an_admin_gets_the_buttons_and_anyone_else_none() -> None:
    admin = view(home_state())
    assert action_ids(admin) == ADMIN_ACTIONS
    buttons = next(b for b in admin["blocks"] if b["type"] == "actions")["elements"]
    assert [(b["action_id"], b["text"]["text"]) for b in buttons] == [
        ("home_add_digest", "Add a digest or watch"),
        ("home_alerts", "Alert settings"),
    ]
    other = view(replace(home_state(digests=20), admin=False))
    within_limits(other)
    assert action_ids(other) == set()
    assert not any(b["type"] == "actions" or "accessory" in b for b in other["blocks"])
    assert "only the admins in `[slack] admins` of bot.toml can change these." in texts(other)[1]


def test_a_digest_made_in_slack_can_be_changed_and_one_from_the_file_only_sent() -> None:
    found = view(home_state())
    assert menu(digest_section(found, "old")) == [
        "edit|old", "pause|old", "delete|old",
        "preview|old", "send|old",
    ]  # fmt: skip
    labels = [o["text"]["text"] for o in digest_section(found, "old")["accessory"]["options"]]
    assert labels == ["Edit…", "Pause", "Delete…", "Send to me", "Send now"]
    assert menu(digest_section(found, "csat-daily")) == ["preview|csat-daily", "send|csat-daily"]
    assert digest_section(found, "csat-daily")["accessory"]["action_id"] == "home_digest"


def test_a_paused_digest_says_so_and_offers_resume() -> None:
    found = view(home_state())
    section = digest_section(found, "availability-daily")
    assert "Next run: :double_vertical_bar: paused · " in section["text"]["text"]
    assert "<!date^" not in section["text"]["text"].split("Last run")[0]
    assert menu(section)[:3] == [
        "edit|availability-daily", "resume|availability-daily", "delete|availability-daily",
    ]  # fmt: skip


def test_a_failed_run_says_why_and_links_nothing() -> None:
    found = view(home_state())
    text = digest_section(found, "billing-watch")["text"]["text"]
    assert "Last run: :warning: failed 4h ago: LivePerson refused the credentials (401)" in text
    assert "archives" not in text


def test_a_name_too_long_for_a_menu_value_gets_no_menu() -> None:
    name = "n" * (MAX_VALUE - len("preview|"))  # the longest value fits exactly
    longer = name + "n"
    state = replace(home_state(), digests=(home_digest(1, name=name), home_digest(2, name=longer)))
    found = view(state)
    assert max(map(len, menu(digest_section(found, name)))) == MAX_VALUE
    section = digest_section(found, longer[:149])
    assert "accessory" not in section
    assert "_Its name is too long to act on from Slack._" in section["text"]["text"]
    escaped = "&" * 20 + "x" * 43  # 63 characters, 143 as the value carries them (`&amp;`)
    state = replace(state, digests=(home_digest(1, name=escaped),))
    assert "accessory" not in digest_section(view(state), "&amp;" * 20)
    other = view(replace(state, admin=False))
    assert "too long" not in str(other)


@pytest.mark.parametrize(
    "name",
    ["csat-daily", "a|b", "<!channel> & <@U0BOSS>", "tab\there", "\x00bell\x07", "half\ud800"],
)
def test_a_menu_value_reads_back_to_its_digest(name: str) -> None:
    others = ["csat-daily", "a", "<!channel> &amp; <@U0BOSS>", "other"]
    state = replace(home_state(), digests=(home_digest(1, name=name),))
    values = menu(next(b for b in view(state)["blocks"] if "accessory" in b))
    assert [read_action(v, [*others, name]) for v in values] == [
        (a, name) for a in ("edit", "pause", "delete", "preview", "send")
    ]
    assert read_action("drop|" + name, [name]) is None
    assert read_action("edit|nobody", [name]) is None
    assert read_action("no bar", [name]) is None


def test_links_are_built_only_from_what_slack_gives() -> None:
    assert permalink(URL, "C0123", "1772442000.000100") == (
        "https://acme.slack.com/archives/C0123/p1772442000000100"
    )
    assert permalink("https://acme.slack.com", "C0123", "1.2") == (
        "https://acme.slack.com/archives/C0123/p12"
    )
    for bad in [
        ("", "C0123", "1.2"), ("http://acme.slack.com/", "C0123", "1.2"),
        ("https://evil|x/", "C0123", "1.2"), (URL, "#leads", "1.2"), (URL, "C0123", ""),
        (URL, "C0123", "1.2>"), (URL, "<!channel>", "1.2"),
    ]:  # fmt: skip
        assert permalink(*bad) == "", bad
    found = view(home_state())
    alerts = next(t for t in texts(found) if t.startswith(":rotating_light: firing"))
    assert alerts.splitlines() == [
        ":rotating_light: firing · *CSAT of Skill 0 dropped 12.2 pts* · nobody has it"
        f" · opened 40m ago · <{URL}archives/C0LEADS00/p177240|thread>",
        ":eyes: acknowledged · *CSAT of Skill 1 dropped 12.2 pts* · owned by <@U0LEAD>"
        f" · opened 41m ago · <{URL}archives/C0LEADS00/p177241|thread>",
        ":zzz: snoozed · *CSAT of Skill 2 dropped 12.2 pts* · owned by <@U0OTHER>"
        " · opened 42m ago",  # never posted: no thread to link
    ]
    unlinked = view(replace(home_state(), workspace_url=""))
    assert "archives" not in str(unlinked)
    odd = replace(home_state(), digests=(home_digest(1, channel="#leads"),))
    text = digest_section(view(odd), "csat-team-1")["text"]["text"]
    assert "`#leads`" in text and "<#" not in text and "archives" not in text


def test_the_alert_settings_show_who_is_called_in_without_calling_them() -> None:
    found = view(home_state())
    settings = texts(found)[texts(found).index("Alert settings") + 1]
    assert settings.splitlines() == [
        "*Channel:* <#C0LEADS00> _(from bot.toml)_",
        "*Calls in:* @support-leads (user group `S0LEADS`), @here (whoever is active in the"
        " channel) _(from bot.toml)_",
        "*Fewest answers to alert on:* 20",
        "*Drop that alerts:* 5.0 points",
    ]
    people = AlertSettings(None, "<@U0LEAD> <!subteam^S0TEAM> <!channel>", 5, 2.5, frozenset())
    found = view(replace(home_state(), alert_settings=people))
    settings = texts(found)[texts(found).index("Alert settings") + 1]
    assert settings.splitlines()[:2] == [
        "*Channel:* none: no drop alert is posted",
        "*Calls in:* <@U0LEAD>, the user group `S0TEAM`, @channel (everyone in the channel)",
    ]
    assert not any("<!" in t and "<!date^" not in t for t in strings(found))
    assert called_in("") == []


def test_the_history_lists_the_last_ten_changes_newest_first() -> None:
    found = view(home_state())
    history = texts(found)[texts(found).index("Changed from Slack") + 1 :]
    lines = "\n".join(history).splitlines()
    assert len(lines) == 10
    assert lines[0].endswith("· <@U0LEAD> added *csat-team-0*")
    detail = "cron: 0 9 * * 1-5 → 0 8 * * 1-5"
    assert lines[1].endswith("· <@U0LEAD> changed *csat-team-1*: " + detail)
    assert lines[7].endswith("· <@U0LEAD> changed the alert settings: " + detail)
    assert lines[8].endswith("· <@U0LEAD> was refused on *csat-team-8*")
    stamps = [int(re.search(r"<!date\^(\d+)", line)[1]) for line in lines]  # type: ignore[index]
    assert stamps == sorted(stamps, reverse=True)


def test_nothing_set_up_says_so() -> None:
    empty = HomeState("U0LEAD", False, NOW, "bot.toml", (), (), (), (),
                      AlertSettings(None, "", 20, 5.0, frozenset()))  # fmt: skip
    found = view(empty)
    within_limits(found)
    shown = texts(found)
    for line in ["No source is configured.", "No digests or watches yet.", "No open alerts.",
                 "Nothing has been changed from Slack yet."]:  # fmt: skip
        assert line in shown
    assert "*Calls in:* nobody" in str(shown)


@pytest.mark.parametrize(
    ("digests", "alerts", "admin"),
    [(300, 300, True), (300, 300, False), (0, 300, True), (300, 0, True), (95, 4, True)],
)
def test_a_huge_state_shows_what_fits_and_how_many_more(
    digests: int, alerts: int, admin: bool
) -> None:
    state = home_state(digests=digests, alerts=alerts, admin=admin)
    found = view(state)
    within_limits(found)
    sections = [b["text"]["text"] for b in found["blocks"] if b["type"] == "section"]
    shown_digests = sum(1 for t in sections if "\nNext run: " in t)
    alert_lines = sum(len(t.splitlines()) for t in sections if " · opened " in t)
    more = [t for t in texts(found) if t.startswith("…and ")]
    if shown_digests < len(state.digests):
        assert f"…and {len(state.digests) - shown_digests} more digests and watches" in more[0]
        assert len(found["blocks"]) == MAX_VIEW_BLOCKS  # as many as fit
    assert alert_lines >= min(len(state.alerts), ALERTS_PER_SECTION)  # always some alerts
    if alert_lines < len(state.alerts):
        assert more[-1].startswith(f"…and {len(state.alerts) - alert_lines} more open alert")
    assert shown_digests + alert_lines < len(state.digests) + len(state.alerts) or not more
    headers = [b["text"]["text"] for b in found["blocks"] if b["type"] == "header"]
    assert headers[1:] == [
        "Sources", "Digests and watches", "Open alerts", "Alert settings", "Changed from Slack"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("room", "digests", "alerts", "shown"),
    [
        (80, 10, 10, (10, 10)),  # everything fits
        (80, 300, 300, (79, 6)),  # digests first, one alert section kept
        (80, 300, 0, (80, 0)),  # no alert: every block for the digests
        (80, 0, 600, (0, 480)),  # 80 sections of alerts
        (80, 79, 300, (79, 12)),  # all digests shown: their "more" line goes to the alerts
        (80, 78, 300, (78, 18)),
        (0, 5, 5, (0, 5)),  # one section where the alerts' "more" line was
        (0, 5, 7, (0, 0)),
    ],
)
def test_fit(room: int, digests: int, alerts: int, shown: tuple[int, int]) -> None:
    assert fit(room, digests, alerts) == shown


def test_fit_never_exceeds_the_room() -> None:
    for room in range(0, 40, 3):
        for digests in (0, 1, 5, 30, 60):
            for alerts in (0, 1, 6, 7, 50, 300):
                d, a = fit(room, digests, alerts)
                used = d + -(-a // ALERTS_PER_SECTION) - (0 < d == digests) - (0 < a == alerts)
                assert used <= room and d <= digests and a <= alerts


def allowed(text: str) -> str:
    """`text` without the mentions and links the view makes on purpose from real ids."""
    text = re.sub(r"<!date\^\d+\^[^|>]*\|[^>]*>", "", text)
    text = re.sub(r"<@U0LEAD>|<@U0OTHER>|<#C0123456789>|<#C0LEADS00>", "", text)
    return re.sub(r"<https://acme\.slack\.com/archives/C[0-9A-Z]+/p[0-9]+\|[a-z ]+>", "", text)


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: repr(h[:30]))
def test_no_outside_string_breaks_the_view_or_pings_anyone(hostile: str) -> None:
    everything = home_state(odd=hostile)  # every string from outside is hostile
    found = view(everything)
    within_limits(found)
    # a person the configuration calls in is shown as anyone is: a view notifies nobody
    people = [f"<@{p['id']}>" for p in called_in(hostile) if p["kind"] == "user"]
    assert not any(pings(reduce(lambda t, p: t.replace(p, ""), people, t)) for t in strings(found))
    names = home_state()  # names, errors, headlines, details hostile; ids and links real
    names = replace(
        names,
        digests=tuple(
            replace(d, name=hostile, last_error=hostile, schedule=hostile, timeframe=hostile)
            for d in names.digests
        ),
        alerts=tuple(replace(a, headline=hostile) for a in names.alerts),
        history=tuple(replace(h, target=hostile, detail=hostile) for h in names.history),
        sources=tuple(replace(s, last_error=hostile) for s in names.sources),
    )
    found = view(names)
    within_limits(found)
    assert not any(pings(allowed(t)) for t in strings(found))


def test_huge_numbers_and_long_lists_stay_within_limits() -> None:
    state = home_state(digests=120, alerts=40)
    ids = tuple(str(10**30 + i) for i in range(500))
    people = " ".join(f"<@U0{i:04d}>" for i in range(500))
    settings = replace(
        state.alert_settings, min_answers=10**3000, drop_points=1e308, mention=people
    )
    long = "x" * 10_000
    state = replace(
        state,
        digests=tuple(replace(d, ids=ids) for d in state.digests),
        alert_settings=settings,
        history=tuple(
            AuditLine(NOW - timedelta(minutes=i), "U0LEAD", "edit", long, long) for i in range(50)
        ),
        alerts=tuple(
            home_alert(i, headline=long, owner="U" + "0" * 30, opened_at=NOW - timedelta(days=9))
            for i in range(40)
        ),  # the longest alert lines there are: six to a section
        workspace_url="https://" + "w" * 90 + ".slack.com/",  # the longest taken
    )
    found = view(state)
    within_limits(found)
    assert "archives" in str(found["blocks"])  # the longest links are there
    assert " and 490 more _(from bot.toml)_" in str(found)

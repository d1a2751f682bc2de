"""The Home tab's modals: valid Block Kit, prefilled as the TOML says, read back as typed,
each bad value answered on its own block, and nothing anyone sends makes them raise."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.views import View

from bot.config import DEFAULT_TEMPLATES, AlertRules, ConfigError, Digest, Rule, read_digest
from bot.home import modals
from bot.home.modals import (
    ALERT_KEYS,
    DIGEST_KEYS,
    alerts_view,
    check_alerts,
    check_digest,
    delete_view,
    digest_view,
    group_options,
    id_options,
    next_revision,
    read_alerts_view,
    read_digest_view,
)
from bot.render import Renderer

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Berlin
SOURCES = ["liveperson", "livechat", "ingested"]
NAMES = {("skill", "4"): "Billing", ("skill", "7"): "Sales <@U0HACKER> *loud*"}
GOOD = {
    "name": "csat-daily",
    "kind": "csat",
    "source": "liveperson",
    "channel": "C0123456789",
    "cron": "0 9 * * 1-5",
    "timezone": "Europe/Berlin",
    "skills": ["4", "7"],
    "timeframe": "24h",
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    found = Renderer(DEFAULT_TEMPLATES, BERLIN)
    found.names = lambda kind, id, source=None: NAMES.get((kind, id))
    return found


def edit(renderer: Renderer, table: Mapping[str, Any] | None, **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "sources": SOURCES, "directories": {"liveperson", "livechat"}, "timezone": BERLIN,
        "now": NOW, "original": str((table or {}).get("name", "")),
    }  # fmt: skip
    return digest_view(renderer, table=table, **{**args, **kwargs})


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside a view."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def valid(view: dict[str, Any]) -> dict[str, Any]:
    """Slack's models, and the limits they leave to Slack."""
    View(**view).validate_json()
    json.dumps(view).encode()  # no half of a character anywhere
    assert len(view["title"]["text"]) <= 24 and len(view["submit"]["text"]) <= 24
    assert len(view["blocks"]) <= 100
    for part in walk(view):
        if "label" in part:
            assert len(part["label"]["text"]) <= 2000
        if "placeholder" in part:
            assert len(part["placeholder"]["text"]) <= 150
        options = [*part.get("options", []), *part.get("initial_options", [])]
        if part.get("type") == "static_select":
            assert len(part["options"]) <= 100
        for option in options + ([part["initial_option"]] if "initial_option" in part else []):
            assert 0 < len(option["text"]["text"]) <= 75 and 0 < len(option["value"]) <= 150
    return view


def inputs(view: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The input blocks by block_id."""
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def submitted(view: Mapping[str, Any]) -> dict[str, Any]:
    """The view as Slack submits it when nobody changes anything: each input's initial
    value in the state its element type has."""
    values: dict[str, Any] = {}
    for key, block in inputs(view).items():
        element = block["element"]
        kind = element["type"]
        if kind in ("plain_text_input", "number_input"):
            state: dict[str, Any] = {"value": element.get("initial_value")}
        elif kind in ("static_select", "radio_buttons", "external_select"):
            state = {"selected_option": element.get("initial_option")}
        elif kind == "conversations_select":
            state = {"selected_conversation": element.get("initial_conversation")}
        else:
            state = {"selected_options": element.get("initial_options", [])}
        values[key] = {element["action_id"]: {"type": kind, **state}}
    return {"type": "modal", "state": {"values": values}}


def changed(view: dict[str, Any], **states: Any) -> dict[str, Any]:
    """A submission with some blocks' states replaced (None removes the block)."""
    values = dict(view["state"]["values"])
    for key, state in states.items():
        if state is None:
            values.pop(key, None)
        else:
            values[key] = state
    return {"type": "modal", "state": {"values": values}}


def typed(value: Any, action: str = "x") -> dict[str, Any]:
    return {action: {"type": "plain_text_input", "value": value}}


def picked(value: Any, action: str = "x") -> dict[str, Any]:
    return {action: {"type": "static_select", "selected_option": {"value": value}}}


# --- the digest view ------------------------------------------------------------------------


def test_a_new_digest_view_is_valid_and_asks_every_key(renderer: Renderer) -> None:
    view = valid(edit(renderer, None))
    assert (view["callback_id"], view["private_metadata"]) == ("digest_edit", "")
    assert set(inputs(view)) == set(DIGEST_KEYS)
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["cron_presets"]["type"] == "actions"
    assert blocks["cron_presets"]["elements"][0]["action_id"] == "digest_cron_preset"
    assert blocks["cron_words"]["type"] == "context"
    found = inputs(view)
    assert found["timezone"]["element"]["initial_value"] == "Europe/Berlin"  # the bot's zone
    assert found["timeframe"]["element"]["initial_value"] == "24h"
    assert found["post"]["element"]["initial_option"]["value"] == "true"
    assert found["source"]["element"]["initial_option"]["value"] == "default"
    assert found["cron"]["dispatch_action"] is True
    assert found["cron"]["element"]["action_id"] == "cron"
    channel = found["channel"]["element"]
    assert channel["type"] == "conversations_select"
    assert channel["filter"] == {"include": ["public", "private"], "exclude_bot_users": True}
    assert {found[k]["optional"] for k in ("skills", "agents", "groups", "source")} == {True}


def test_an_edit_view_is_prefilled_and_picks_ids_from_the_directory(renderer: Renderer) -> None:
    view = valid(edit(renderer, {**GOOD, "post": False}))
    assert (view["title"]["text"], view["private_metadata"]) == ("Edit digest", "csat-daily")
    found = inputs(view)
    skills = found["skills"]["element"]
    assert skills["type"] == "multi_external_select"
    assert (skills["action_id"], skills["min_query_length"]) == ("digest_ids|skill|liveperson", 0)
    # names as plain text, never mrkdwn: what a vendor calls a skill cannot mention anyone
    assert skills["initial_options"] == [
        {"text": {"type": "plain_text", "text": "Billing (4)"}, "value": "4"},
        {"text": {"type": "plain_text", "text": "Sales <@U0HACKER> *loud* (7)"}, "value": "7"},
    ]
    assert found["agents"]["element"]["action_id"] == "digest_ids|agent|liveperson"
    assert found["channel"]["element"]["initial_conversation"] == "C0123456789"
    assert found["post"]["element"]["initial_option"]["value"] == "false"
    assert found["kind"]["element"]["initial_option"]["value"] == "csat"
    words = next(b for b in view["blocks"] if b.get("block_id") == "cron_words")
    text = words["elements"][0]["text"]
    assert "weekdays at 09:00 (Europe/Berlin)" in text
    assert text.count("<!date^") == 3 and "<!date^1772524800^" in text  # Tue 09:00 Berlin


def test_ids_are_typed_where_the_source_has_no_directory(renderer: Renderer) -> None:
    view = valid(edit(renderer, {**GOOD, "source": "ingested", "groups": "all", "skills": None}))
    found = inputs(view)
    assert found["skills"]["element"]["type"] == "plain_text_input"
    assert "initial_value" not in found["skills"]["element"]
    assert found["groups"]["element"]["initial_value"] == "all"


def test_the_default_source_decides_when_the_digest_names_none(renderer: Renderer) -> None:
    table = {k: v for k, v in GOOD.items() if k != "source"}
    view = valid(edit(renderer, table, default_source="livechat"))
    assert inputs(view)["skills"]["element"]["action_id"] == "digest_ids|skill|livechat"
    assert inputs(view)["source"]["element"]["initial_option"]["value"] == "default"
    view = valid(edit(renderer, table, default_source="ingested"))
    assert inputs(view)["skills"]["element"]["initial_value"] == "4, 7"


PREFILLED = [
    GOOD,
    {**GOOD, "skills": "all", "post": False, "timeframe": "7d"},
    {**{k: v for k, v in GOOD.items() if k not in ("skills", "source")}, "agents": ["a@b.c"]},
    {**{k: v for k, v in GOOD.items() if k != "skills"}, "kind": "availability"},
    {**{k: v for k, v in GOOD.items() if k != "skills"}, "source": "ingested", "groups": ["2"]},
    {**GOOD, "source": "ingested", "skills": "all", "timezone": "America/New_York"},
]


@pytest.mark.parametrize("table", PREFILLED)
def test_prefill_reads_back_as_the_same_table(renderer: Renderer, table: dict[str, Any]) -> None:
    view = valid(edit(renderer, table))
    assert read_digest_view(submitted(view)) == table
    digest = check_digest(read_digest_view(submitted(view)), BERLIN, {"other"}, table["name"])
    errors: list[ConfigError] = []
    assert digest == read_digest(table, "test", "digest", BERLIN, errors) and not errors


def test_a_preset_changes_the_cron_inputs_action_id_not_its_block(renderer: Renderer) -> None:
    first = valid(edit(renderer, GOOD))
    assert next_revision(first) == 1
    again = valid(edit(renderer, {**GOOD, "cron": "0 8 * * *"}, revision=next_revision(first)))
    cron = inputs(again)["cron"]
    assert (cron["element"]["action_id"], cron["element"]["initial_value"]) == (
        "cron|1",
        "0 8 * * *",
    )
    assert next_revision(again) == 2
    assert read_digest_view(submitted(again))["cron"] == "0 8 * * *"
    assert next_revision({"blocks": "junk"}) == 1 and next_revision({}) == 1


def test_the_schedule_in_words_or_why_not(renderer: Renderer) -> None:
    def words(table: Mapping[str, Any]) -> str:
        view = valid(edit(renderer, table))
        block = next(b for b in view["blocks"] if b.get("block_id") == "cron_words")
        return str(block["elements"][0]["text"])

    assert "Not a schedule yet: five fields" in words({**GOOD, "cron": "0 9 * *"})
    assert "Mars/Base" in words({**GOOD, "timezone": "Mars/Base"})
    assert "no date" in words({**GOOD, "cron": "0 0 31 2 *"})
    assert "(America/New_York)" in words({**GOOD, "timezone": "America/New_York"})
    assert "Type a schedule" in words({k: v for k, v in GOOD.items() if k != "cron"})
    assert "&lt;@U1&gt;" in words({**GOOD, "cron": "<@U1> 9 * * *"})  # escaped, never a mention


def test_errors_show_after_their_blocks_escaped(renderer: Renderer) -> None:
    view = valid(edit(renderer, GOOD, errors={"channel": "not <!channel>", "skills": "x" * 400}))
    ids = [b.get("block_id") for b in view["blocks"]]
    assert ids[ids.index("channel") + 1] == "error_channel"
    shown = view["blocks"][ids.index("error_channel")]["elements"][0]["text"]
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert len(view["blocks"][ids.index("error_skills")]["elements"][0]["text"]) < 170


def test_outside_text_is_an_initial_value_as_it_stands(renderer: Renderer) -> None:
    table = {**GOOD, "name": "<!channel> & *x*", "timeframe": "<@U1>"}
    view = valid(edit(renderer, table))
    assert inputs(view)["timeframe"]["element"]["initial_value"] == "<@U1>"
    assert view["private_metadata"] == "<!channel> & *x*"
    broken = valid(edit(renderer, {**GOOD, "cron": "0 9 \ud800 * *", "timeframe": "24h\x00"}))
    assert "initial_value" not in inputs(broken)["cron"]["element"]
    assert "initial_value" not in inputs(broken)["timeframe"]["element"]


# --- checking a digest ----------------------------------------------------------------------


def test_a_good_digest_is_a_digest(renderer: Renderer) -> None:
    digest = check_digest({**GOOD, "post": False}, BERLIN, set(), "")
    assert isinstance(digest, Digest)
    assert (digest.name, digest.skills, digest.timeframe, digest.post) == (
        "csat-daily", ("4", "7"), 1440, False,
    )  # fmt: skip
    without = check_digest({k: v for k, v in GOOD.items() if k != "timezone"}, BERLIN, set(), "")
    assert isinstance(without, Digest) and without.timezone == BERLIN


@pytest.mark.parametrize(
    ("change", "block"),
    [
        ({"cron": "0 9 * *"}, "cron"),
        ({"cron": "0 25 * * *"}, "cron"),
        ({"channel": "#leads"}, "channel"),
        ({"agents": ["1001"]}, "agents"),  # skills already set: two units
        ({"kind": "weekly"}, "kind"),
        ({"source": "zendesk"}, "source"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"timezone": "Europe"}, "timezone"),
        ({"timeframe": "soon"}, "timeframe"),
        ({"timeframe": "0m"}, "timeframe"),
        ({"post": "maybe"}, "post"),
        ({"skills": []}, "skills"),
        ({"skills": ["all", "4"]}, "skills"),
        ({"name": "taken-one"}, "name"),
        ({"name": "csat daily"}, "name"),
        ({"name": "CSAT"}, "name"),
        ({"name": "a" * 41}, "name"),
        ({"name": "-csat"}, "name"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"channel": None}, "channel"),
        ({"cron": None}, "cron"),
    ],
)
def test_each_bad_value_is_answered_on_its_own_block(change: dict[str, Any], block: str) -> None:
    table = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    found = check_digest(table, BERLIN, {"taken-one", "csat-daily"}, "csat-daily")
    assert isinstance(found, dict) and set(found) == {block}, found
    assert all(0 < len(message) <= 150 for message in found.values())


def test_the_channel_error_says_what_was_wrong_and_what_is_expected() -> None:
    found = check_digest({**GOOD, "channel": "#leads"}, BERLIN, set(), "")
    assert isinstance(found, dict)
    assert "#leads" in found["channel"] and "C0123456789" in found["channel"]


def test_a_name_is_taken_unless_it_is_the_one_being_edited() -> None:
    assert isinstance(check_digest(GOOD, BERLIN, {"csat-daily"}, "csat-daily"), Digest)
    taken = check_digest(GOOD, BERLIN, {"csat-daily"}, "")
    assert isinstance(taken, dict) and "taken" in taken["name"]
    renamed = check_digest(GOOD, BERLIN, {"csat-daily", "old"}, "old")  # a rename onto another
    assert isinstance(renamed, dict) and set(renamed) == {"name"}


def test_a_key_without_a_block_is_answered_on_the_name() -> None:
    found = check_digest({**GOOD, "colour": "red"}, BERLIN, set(), "")
    assert isinstance(found, dict) and set(found) == {"name"}


# --- whatever anyone sends ------------------------------------------------------------------


def _good_state(renderer: Renderer) -> dict[str, Any]:
    return submitted(edit(renderer, GOOD))


HOSTILE: list[Any] = [
    None,
    "view",
    [],
    {"state": None},
    {"state": {"values": []}},
    {"state": {"values": {"name": "x"}}},
    {"state": {"values": {"name": {}}}},
    {"state": {"values": {k: {"a": None} for k in DIGEST_KEYS}}},
    {"state": {"values": {k: {"a": []} for k in DIGEST_KEYS}}},
    {"state": {"values": {k: {"a": {"value": 7}} for k in DIGEST_KEYS}}},
    {"state": {"values": {k: {"a": {"selected_option": [1]}} for k in DIGEST_KEYS}}},
    {"state": {"values": {k: {"a": {"selected_options": "all"}} for k in DIGEST_KEYS}}},
    {"state": {"values": {k: {"a": {"selected_conversation": {"id": 1}}} for k in DIGEST_KEYS}}},
    {"state": {"values": {k: typed("x" * 10_000) for k in DIGEST_KEYS}}},
    {"state": {"values": {k: typed("\ud800\udfff\x00") for k in DIGEST_KEYS}}},
    {"state": {"values": {k: picked("\ud800") for k in DIGEST_KEYS}}},
    {
        "state": {
            "values": {
                k: {"a": {"selected_options": [{"value": str(i)} for i in range(10_000)]}}
                for k in DIGEST_KEYS
            }
        }
    },
    {"state": {"values": {k: {"a": {"value": {"value": {"value": [None]}}}} for k in DIGEST_KEYS}}},
    {"state": {"values": {str(i): typed("x") for i in range(10_000)}}},
]


@pytest.mark.parametrize("view", HOSTILE, ids=range(len(HOSTILE)))
def test_a_crafted_submission_never_raises_and_is_refused(renderer: Renderer, view: Any) -> None:
    table = read_digest_view(view)
    found = check_digest(table, BERLIN, set(), "")
    assert isinstance(found, dict) and found
    assert set(found) <= set(DIGEST_KEYS)
    assert all(0 < len(m) <= 150 and m.encode() for m in found.values())
    valid(edit(renderer, table, errors=found, original=""))  # redrawn: still a valid view


@pytest.mark.parametrize(
    ("block", "state"),
    [
        ("skills", {"a": {"selected_options": [{"value": str(i)} for i in range(10_000)]}}),
        ("skills", {"a": {"selected_options": [{"value": "4"}, {"value": 5}]}}),
        ("skills", {"a": {"selected_options": [{"value": "4\ud800"}]}}),
        ("skills", {"a": {"selected_options": [{"value": "4" * 200}]}}),
        ("skills", typed("4, " * 4000)),
        ("cron", typed("0 9 * * 1-5" + " " * 10_000 + "x")),
        ("cron", {"a": {"value": ["0 9 * * 1-5"]}}),
        ("name", typed("csat\ud800")),
        ("name", {"a": "junk"}),
        ("kind", {"a": {"selected_option": "csat"}}),
        ("kind", "junk"),
        ("channel", {"a": {"selected_conversation": ["C0123456789"]}}),
        ("post", picked("yes")),
        ("timeframe", typed("9" * 5000)),
        ("timezone", typed("a" * 2000)),
    ],
)
def test_one_crafted_value_is_refused_on_its_block(
    renderer: Renderer, block: str, state: Any
) -> None:
    table = read_digest_view(changed(_good_state(renderer), **{block: state}))
    found = check_digest(table, BERLIN, set(), "")
    assert isinstance(found, dict) and set(found) == {block}, found
    assert all(len(m) <= 150 for m in found.values())


def test_an_action_id_of_any_name_is_read() -> None:
    view = {"state": {"values": {"cron": typed("0 9 * * 1", "cron|7"), "name": typed(" a-1 ")}}}
    assert read_digest_view(view) == {"cron": "0 9 * * 1", "name": "a-1"}


def test_typed_ids_read_as_the_file_writes_them() -> None:
    def skills(text: Any) -> Any:
        return read_digest_view({"state": {"values": {"skills": typed(text)}}}).get("skills")

    assert skills("4, 7") == ["4", "7"]
    assert skills(" 4 ,7,, 4 ") == ["4", "7"]
    assert skills("ALL") == "all"
    assert skills("   ") is None and skills(None) is None
    assert skills(",,") == []  # typed, but no id: refused, not the whole account
    picked_all = {"a": {"selected_options": [{"value": "all"}]}}
    assert read_digest_view({"state": {"values": {"skills": picked_all}}}) == {"skills": "all"}
    none = {"a": {"selected_options": []}}
    assert read_digest_view({"state": {"values": {"skills": none}}}) == {}


# --- alerts -------------------------------------------------------------------------------------


RULES = AlertRules(channel="C0LEADS00", mention="<!subteam^S0LEADS>", rule=Rule(min_answers=30))


def test_the_alerts_view_asks_what_the_file_leaves_open(renderer: Renderer) -> None:
    view = valid(alerts_view(renderer, rules=RULES, in_file=frozenset({"min_answers", "mention"})))
    assert (view["callback_id"], view["title"]["text"]) == ("alerts_edit", "Alert settings")
    found = inputs(view)
    assert set(found) == set(ALERT_KEYS) - {"min_answers", "mention"}
    lines = [e["text"] for b in view["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert any("30" in line and "bot.toml" in line for line in lines)
    assert any("<!subteam^S0LEADS>" in line and "bot.toml" in line for line in lines)
    drop = found["drop_points"]["element"]
    assert (drop["type"], drop["min_value"], drop["max_value"]) == ("number_input", "0", "100")
    assert drop["is_decimal_allowed"] is True and drop["initial_value"] == "5.0"
    assert found["channel"]["element"]["initial_conversation"] == "C0LEADS00"


def test_every_alert_key_as_an_input(renderer: Renderer) -> None:
    view = valid(alerts_view(renderer, rules=RULES, in_file=frozenset()))
    found = inputs(view)
    assert list(found) == list(ALERT_KEYS)
    mention = found["mention"]["element"]
    assert (mention["type"], mention["action_id"]) == ("external_select", "alerts_mention")
    assert mention["initial_option"]["value"] == "<!subteam^S0LEADS>"
    minimum = found["min_answers"]["element"]
    assert minimum["is_decimal_allowed"] is False and "max_value" not in minimum
    assert found["confidence"]["element"]["max_value"] == "0.9999"
    nobody = inputs(alerts_view(renderer, rules=AlertRules(), in_file=frozenset()))
    assert nobody["mention"]["element"]["initial_option"]["value"] == "none"


@pytest.mark.parametrize(
    "rules",
    [RULES, AlertRules(), AlertRules(mention="<!subteam^S0A|@leads>", rule=Rule(drop_share=0.5))],
)
def test_alerts_read_back_as_the_rules_they_showed(renderer: Renderer, rules: AlertRules) -> None:
    view = valid(alerts_view(renderer, rules=rules, in_file=frozenset()))
    table = read_alerts_view(submitted(view))
    assert check_alerts(AlertRules(), frozenset(), table) == rules


def test_alerts_read_as_the_file_writes_them() -> None:
    values = {
        "channel": {"channel": {"selected_conversation": "C0LEADS00"}},
        "mention": {"alerts_mention": {"selected_option": {"value": "none"}}},
        "min_answers": typed("25"),
        "drop_points": typed("7.5"),
        "confidence": typed(None),
    }
    table = read_alerts_view({"state": {"values": values}})
    assert table == {"channel": "C0LEADS00", "mention": "", "min_answers": 25, "drop_points": 7.5}
    found = check_alerts(RULES, frozenset(), table)
    assert isinstance(found, AlertRules)
    assert (found.channel, found.mention, found.rule.min_answers) == ("C0LEADS00", "", 25)
    assert found.rule.drop_points == 7.5 and found.rule.confidence == 0.95


@pytest.mark.parametrize(
    ("change", "block"),
    [
        ({"min_answers": -1}, "min_answers"),
        ({"min_answers": 2.5}, "min_answers"),
        ({"min_answers": "many"}, "min_answers"),
        ({"min_answers": "9" * 5000}, "min_answers"),
        ({"drop_points": 200}, "drop_points"),
        ({"confidence": 0.2}, "confidence"),
        ({"drop_share": 3}, "drop_share"),
        ({"away_points": "nan"}, "away_points"),
        ({"channel": "#leads"}, "channel"),
        ({"mention": "@support-leads"}, "mention"),
        ({"mention": "<!subteam^S0A>\ud800"}, "mention"),
    ],
)
def test_each_bad_alert_value_on_its_block(change: dict[str, Any], block: str) -> None:
    found = check_alerts(RULES, frozenset(), {"min_answers": 20, **change})
    assert isinstance(found, dict) and set(found) == {block}, found
    assert all(0 < len(m) <= 150 for m in found.values())


def test_the_file_wins_over_slack() -> None:
    file = replace(RULES, rule=Rule(min_answers=30))
    found = check_alerts(file, frozenset({"min_answers"}), {"min_answers": 5, "drop_points": 9})
    assert isinstance(found, AlertRules)
    assert (found.rule.min_answers, found.rule.drop_points) == (30, 9)
    refused = check_alerts(file, frozenset({"min_answers"}), {"colour": 1})
    assert isinstance(refused, dict) and set(refused) == {"channel"}  # the first input


@pytest.mark.parametrize("view", HOSTILE, ids=range(len(HOSTILE)))
def test_a_crafted_alerts_submission_never_raises(view: Any) -> None:
    crafted = json.loads(json.dumps(view).replace("name", "min_answers")) if view else view
    for one in (view, crafted):
        table = read_alerts_view(one)
        found = check_alerts(RULES, frozenset(), table)
        assert isinstance(found, AlertRules | dict)
        if isinstance(found, dict):
            assert set(found) <= set(ALERT_KEYS) and all(len(m) <= 150 for m in found.values())


# --- deleting -------------------------------------------------------------------------------


def test_the_delete_view_confirms_by_name(renderer: Renderer) -> None:
    view = valid(delete_view(renderer, "csat-daily"))
    assert (view["callback_id"], view["private_metadata"]) == ("digest_delete", "csat-daily")
    assert view["submit"]["text"] == "Delete"
    assert "csat-daily" in view["blocks"][0]["text"]["text"]
    odd = valid(delete_view(renderer, "<!channel>"))
    assert odd["blocks"][0]["text"]["type"] == "plain_text"


# --- options listeners ----------------------------------------------------------------------


def test_id_options_match_names_and_ids_without_case_or_accents() -> None:
    entries = [("1", "Zoë Adams"), ("2", "zoe baker"), ("3", "Bob"), ("40", "Billing")]
    assert [o["value"] for o in id_options(entries, "ZOE")] == ["1", "2"]
    assert [o["value"] for o in id_options(entries, "4")] == ["40"]
    assert [o["value"] for o in id_options(entries, "bob")] == ["3"]
    assert [o["value"] for o in id_options(entries, "")] == ["all", "40", "3", "1", "2"]
    assert id_options(entries, "al")[0]["value"] == "all"
    assert "all" not in [o["value"] for o in id_options(entries, "bil")]
    assert id_options(entries, "bi")[0]["text"]["text"] == "Billing (40)"
    exact = [("9", "Sales team"), ("8", "Sales")]
    assert [o["value"] for o in id_options(exact, "sales")] == ["8", "9"]


def test_id_options_keep_slacks_limits() -> None:
    many = [(str(i), f"Agent {i} " + "x" * 200) for i in range(5000)]
    found = id_options(many, "")
    assert len(found) == 100 and found[0]["value"] == "all"
    assert all(len(o["text"]["text"]) <= 75 for o in found)
    assert all(o["text"]["text"].endswith(f"({o['value']})") for o in found[1:])
    assert len(id_options(many, "agent", limit=10)) == 10
    assert len(id_options(many, "agent", limit=1000)) == 100
    odd = [("x" * 151, "Long id"), ("", "No id"), ("5", "Five"), ("5", "Again"), ("6\x00", "x")]
    assert [o["value"] for o in id_options(odd, "")] == ["all", "5"]
    assert id_options([("7", "")], "7")[0]["text"]["text"] == "7"
    assert id_options([("all", "Everyone")], "") == id_options([], "")
    assert id_options([(str(i), "x") for i in range(200)], "x" * 10_000) == []


def test_group_options_are_mentions_slack_pings() -> None:
    groups = [("S0LEADS", "support-leads"), ("S0OPS", "Ops"), ("bad id", "x"), ("S0É", "é")]
    found = group_options(groups, "")
    assert [o["value"] for o in found] == ["none", "<!subteam^S0OPS>", "<!subteam^S0LEADS>"]
    assert found[0]["text"]["text"] == "Nobody"
    assert [o["value"] for o in group_options(groups, "lead")] == ["<!subteam^S0LEADS>"]
    assert len(group_options([(f"S{i:05d}", f"g{i}") for i in range(500)], "g")) == 100


# --- what `check` renders -------------------------------------------------------------------


def test_the_sample_contexts_render_valid_modals(renderer: Renderer) -> None:
    for name, contexts in modals.sample_contexts().items():
        for context in contexts:
            found = renderer.render(name, **context)
            valid(modals._modal(found, "x", ""))


def test_options_sent_twice_are_not_folded_into_a_valid_digest(renderer: Renderer) -> None:
    twice = {"a": {"selected_options": [{"value": "4"}] * 10_000}}
    table = read_digest_view(changed(_good_state(renderer), skills=twice))
    found = check_digest(table, BERLIN, set(), "")
    assert isinstance(found, dict) and set(found) == {"skills"}


def test_a_message_says_what_was_sent_where_the_files_reader_does_not() -> None:
    found = check_alerts(RULES, frozenset(), {"min_answers": -1, "confidence": 0.2})
    assert found == {
        "min_answers": "a whole number from 0 or more, not -1",
        "confidence": "a number from 0.5 to 0.9999, not 0.2",
    }
    kind = check_digest({**GOOD, "kind": "weekly"}, BERLIN, set(), "")
    assert kind == {"kind": "csat or availability, not 'weekly'"}
    long = check_alerts(RULES, frozenset(), {"mention": "@support-leads"})
    assert isinstance(long, dict) and len(long["mention"]) <= 150
    assert long["mention"].endswith("'@support-leads' would ping nobody")  # asides went first


def test_choosing_a_source_redraws_the_pickers_for_it(renderer: Renderer) -> None:
    view = valid(edit(renderer, GOOD))
    source = inputs(view)["source"]
    assert source["dispatch_action"] is True
    assert source["element"]["action_id"] == "digest_source"
    chosen = changed(submitted(view), source=picked("livechat", "digest_source"))
    again = valid(edit(renderer, read_digest_view(chosen), revision=next_revision(view) - 1))
    skills = inputs(again)["skills"]["element"]
    assert skills["action_id"] == "digest_ids|skill|livechat"
    assert [o["value"] for o in skills["initial_options"]] == ["4", "7"]
    assert inputs(again)["cron"]["element"]["action_id"] == "cron"  # what was typed stays

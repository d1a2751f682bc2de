"""Hostile strings in every field that comes from outside, through every message template.

Each string of `HOSTILE` goes into the names, labels, comments, ids, reasons and error
details the templates print. Every message must still render as valid Block Kit within
Slack's limits, and nothing in it may mention anyone or link anywhere.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from markupsafe import Markup

from bot.alerts.detect import Reason
from bot.check.samples import agent_states_report, alert_contexts, contexts, csat_report
from bot.errors import UsageError
from bot.metrics import AgentStates, AgentStatesReport, CsatReport, CsatRow, StateTime
from bot.render import Renderer
from bot.render.safe import clean, escape, outside, plain
from bot.render.words import shown
from bot.snapshots.rows import Change
from bot.surveys.detractors import Detractor
from tests.fakes.hostile import HOSTILE, pings

RENDERER = Renderer()
BASE = contexts()
ALERTS = alert_contexts()


def strings(value: Any) -> list[str]:
    """Every string in a message."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def rendered(name: str, context: dict[str, Any]) -> list[str]:
    message = RENDERER.render(name, **context)  # raises when Block Kit or a limit breaks
    return strings(message)


def csat_with(hostile: str) -> CsatReport:
    report = csat_report(rows=2, agents=2)
    rows = tuple(replace(r, name=hostile) for r in report.rows)
    return replace(report, rows=rows)


def states_with(hostile: str) -> AgentStatesReport:
    report = agent_states_report(3)
    odd = AgentStates(
        "9", hostile, StateTime(600), (("state:7", StateTime(600)),), ((hostile, StateTime(60)),)
    )
    agents = (*(replace(a, name=hostile) for a in report.agents), odd)
    return replace(report, agents=agents, labels={"state:7": hostile})


def cases(hostile: str) -> list[tuple[str, dict[str, Any]]]:
    base, alerts = BASE, ALERTS
    first = alerts["alert.yml.j2"][0]["alert"]
    alert = {**first, "entity_kind": "skill", "entity_id": "12", "entity_name": hostile,
             "last_reason": Reason("text", {"text": hostile}),
             "headline": {**first["headline"], "entity_name": hostile},
             "acked_by": hostile, "snoozed_by": hostile, "resolved_by": hostile,
             "resolved_note": hostile}  # fmt: skip
    evaluation = alerts["alert_update.yml.j2"][0]["evaluation"]
    mover = {"entity_kind": "skill", "entity_id": "1", "entity_name": hostile, "now": 0.5,
             "before": 0.7, "answers": 30, "lost": 2.0, "share": 0.4}  # fmt: skip
    evaluation = replace(evaluation, name=hostile, movers=(mover,))
    event = {"alert_id": 7, "at": "2026-03-02T08:05:00+00:00", "user": hostile,
             "action": "resolve", "note": hostile, "until": None}  # fmt: skip
    detractor = Detractor(
        "d", hostile, hostile, 1, 1, 5, hostile, hostile, "2026-03-02T13:20:00.000Z"
    )
    digest = base["digest_csat.yml.j2"][0]
    states_digest = base["digest_availability.yml.j2"][0]
    return [
        ("csat.yml.j2", {**base["csat.yml.j2"][0], "report": csat_with(hostile)}),
        ("agent_states.yml.j2", {**base["agent_states.yml.j2"][0], "report": states_with(hostile)}),
        ("agent_states.yml.j2", {**base["agent_states.yml.j2"][2], "report": states_with(hostile)}),
        ("digest_csat.yml.j2", {**digest, "report": csat_with(hostile)}),
        ("digest_availability.yml.j2", {**states_digest, "report": states_with(hostile)}),
        ("usage.yml.j2", {"command": "/csat", "problem": UsageError(
            "unknown_word", word=hostile, cut=False, suggestion="")}),
        ("usage.yml.j2", {"command": "/csat", "problem": UsageError(
            "ids_not_numbers", source="liveperson", unit="skill", id=hostile)}),
        ("vendor_error.yml.j2",
         {"source": "livechat", "kind": "VendorRejected", "detail": hostile}),
        ("button_error.yml.j2", {"code": "bad_snooze", "details": {"period": hostile,
                                                                   "periods": ["1h"]}}),
        ("alert.yml.j2", {"alert": alert, "state": "firing", "mention": "", "fresh": True}),
        ("alert.yml.j2", {"alert": alert, "state": "snoozed", "mention": "", "fresh": False}),
        ("alert.yml.j2", {"alert": {**alert, "status": "resolved"}, "state": "resolved",
                          "mention": "", "fresh": False}),
        *(("alert_update.yml.j2", {"alert": alert, "evaluation": evaluation, "action": a,
                                   "why": "", "digest": hostile}) for a in ("open", "resolve")),
        *(("alert_event.yml.j2", {"alert": alert, "event": {**event, "action": a}})
          for a in ("acknowledge", "resolve", "snooze", "unsnooze", hostile)),
        ("detractors.yml.j2", {"detractors": [detractor] * 3, "more": 0, "mention": ""}),
    ]  # fmt: skip


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: repr(h[:30]))
def test_no_outside_string_breaks_a_message_or_pings_anyone(hostile: str) -> None:
    for name, context in cases(hostile):
        texts = rendered(name, context)
        assert not any(pings(t) for t in texts), (name, [t for t in texts if pings(t)][:2])


def test_the_configured_mention_still_calls_in_the_team_leads() -> None:
    context = {**alert_contexts()["alert.yml.j2"][0], "mention": Markup("<!subteam^S0LEADS>")}
    assert any("<!subteam^S0LEADS>" in t for t in rendered("alert.yml.j2", context))
    unmarked = {**context, "mention": "<!subteam^S0LEADS>"}  # not said on purpose: escaped
    assert not any(pings(t) for t in rendered("alert.yml.j2", unmarked))


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("ok", "ok"),
        ("tab\tnew\nline", "tab\tnew\nline"),
        ("cut \ud83d", "cut \ufffd"),
        ("a\x00b\x7fc\x85d\ufffee", "abcde"),
        ("<!channel> & co", "<!channel> & co"),  # clean() keeps markup; escape() neutralises it
    ],
)
def test_clean_keeps_what_slack_and_yaml_carry(text: str, cleaned: str) -> None:
    assert clean(text) == cleaned


def test_escape_and_outside() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    row = CsatRow("agent", "a", "plain", None)  # type: ignore[arg-type]
    assert outside(row) is row  # nothing to escape: the same object, not a copy
    assert outside(replace(row, name="<!here>")).name == "&lt;!here&gt;"
    error = UsageError("unknown_word", word="<!here>", cut=False, suggestion="")
    assert outside(error).details["word"] == "&lt;!here&gt;"
    assert error.details["word"] == "<!here>"  # the original is left as it was
    assert outside(Markup("<!subteam^S1>")) == "<!subteam^S1>"


@pytest.mark.parametrize("odd", ["a&b", "<x>", "tab\there", "U+FFFE\ufffe"])
def test_rows_are_found_by_the_id_they_came_with(odd: str) -> None:
    """Escaping reaches the lookup keys as well: a change is still found for an id with
    `&` or `<` in it (an ingested agent's free-text id), not shown as new."""
    context = dict(BASE["digest_csat.yml.j2"][0])
    report = context["report"]
    row = replace(report.rows[0], id=odd, name=None)
    report = replace(report, rows=(row, *report.rows[1:]))
    context |= {"report": report, "changes": {("skill", odd): Change(-7.5, 40)}}
    lines = [t for t in rendered("digest_csat.yml.j2", context) if "▼ 7.5" in t]
    assert lines, "the change of the odd id was not found"


def test_plain_text_shows_what_was_typed_and_cuts_never_halve_an_entity() -> None:
    assert plain(escape("typed &lt; and <b> & co")) == "typed &lt; and <b> & co"
    name = outside("x" * 77 + "&&&&")  # escaped: 77 x and four `&amp;`
    assert shown(name) == "x" * 77 + "…"
    assert shown(outside("x" * 70 + "&" * 20)).endswith("&amp;…")


def test_dataclasses_of_numbers_are_leaves_and_text_beside_them_is_still_escaped() -> None:
    from bot.render.safe import _LEAVES

    agent = AgentStates("<@U1>", "<!here>", StateTime(5, 1), (("away", StateTime(2)),))
    safe = outside(agent)
    assert StateTime in _LEAVES
    assert (safe.id, safe.name) == ("&lt;@U1&gt;", "&lt;!here&gt;")
    assert safe.logged_in is agent.logged_in  # numbers: the same object, not walked
    assert AgentStates not in _LEAVES


def test_named_tuples_of_numbers_are_leaves_and_those_with_text_are_walked() -> None:
    from typing import NamedTuple

    from bot.render.safe import _LEAVES

    class Pair(NamedTuple):
        label: str
        seconds: int

    class Sums(NamedTuple):
        total: int
        share: float | None

    pair, sums = Pair("<!channel>", 3), Sums(1, None)
    assert outside(sums) is sums and Sums in _LEAVES
    assert outside(pair) == Pair("&lt;!channel&gt;", 3) and Pair not in _LEAVES
    assert type(outside(pair)) is Pair
    assert outside(((pair.label, sums),)) == (("&lt;!channel&gt;", sums),)


def big_report(hostile: str, where: str) -> AgentStatesReport:
    """200 agents (checked a column at a time) with one hostile string somewhere in them."""
    agents = [
        AgentStates(
            str(200000 + i),
            None if i % 3 else f"Agent {i}",
            StateTime(3600, 1200, 2400),
            (("online", StateTime(3000)), ("away", StateTime(600))),
            (("2642559712", StateTime(600)),) if i % 2 else (),
        )
        for i in range(200)
    ]
    odd = agents[150]
    agents[150] = {
        "id": replace(odd, id=hostile),
        "name": replace(odd, name=hostile),
        "state": replace(odd, states=(*odd.states, (hostile, StateTime(5)))),
        "reason": replace(odd, reasons=((hostile, StateTime(5)),)),
    }[where]
    return replace(agent_states_report(3), agents=tuple(agents))


@pytest.mark.parametrize("where", ["id", "name", "state", "reason"])
@pytest.mark.parametrize("hostile", [*HOSTILE[:120:3], *HOSTILE[-40:]], ids=lambda h: repr(h[:30]))
def test_a_big_report_is_escaped_exactly_as_value_by_value(
    hostile: str, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.render import safe

    report = big_report(hostile, where)
    fast = outside(report)
    monkeypatch.setattr(safe, "COLUMNS_FROM", 10**9)  # every value walked on its own
    assert fast == outside(report)
    assert (fast is report) == (escape(hostile) == hostile)
    changes = {("agent", a.id): Change(logged_in=60) for a in report.agents}
    assert outside(changes) == safe._mapping(changes)


def test_a_big_clean_report_is_the_same_object() -> None:
    report = big_report("plain", "name")
    assert outside(report) is report
    changes = {("agent", a.id): Change(logged_in=60) for a in report.agents}
    assert outside(changes) is changes


def test_big_lists_of_mixed_kinds_are_walked_value_by_value() -> None:
    error = UsageError("unknown_word", word="<!here>", cut=False, suggestion="")
    mixed = [*range(100), "ok", Markup("<!subteam^S1>"), {"<@U1>": "<!channel>"}, error, 1.5]
    safe = outside(mixed)
    assert safe[:101] == mixed[:101]
    assert safe[101] == "<!subteam^S1>"  # configured markup stays
    assert safe[102] == {"&lt;@U1&gt;": "&lt;!channel&gt;"}
    assert safe[103].details["word"] == "&lt;!here&gt;"
    assert outside([*range(100), Markup("<!here>")])[-1] == "<!here>"
    assert outside((*range(100), "<!here>"))[-1] == "&lt;!here&gt;"

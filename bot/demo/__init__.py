"""`python -m bot demo`: the bot against a simulated contact center, offline.

A simulated LivePerson account and LiveChat license are served on loopback HTTP; the
bot reaches them through its real clients (Domain API, OAuth 2.0, retries, the bucket
cache) and real templates, and prints what Slack would show.
"""

from __future__ import annotations

import json
import logging
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import config
from bot.alerts.ownership import Click
from bot.app import Parts, build_commands, build_parts
from bot.demo.sim.livechat import SimulatedLiveChat
from bot.demo.sim.liveperson import SKILLS, SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from bot.listeners.commands import answer_command, handle_command
from bot.render import Message, to_text
from bot.surveys.detractors import Detractor
from bot.surveys.endpoint import Writer
from bot.surveys.items import Item
from bot.timefmt import iso_ms

FAULT = "fault"  # a step that makes LivePerson fail before the command
SCRIPT = [
    (
        "/csat",
        "",
        "The whole account, last 24 hours (first call: Domain API look-up, OAuth "
        "token, and the account's directory, which names agents, skills and away reasons)",
    ),
    ("/csat", "skill all 60m", "Every active skill over the last hour, busiest first"),
    ("/csat", "skill orders 4h", "One skill, asked for by its name: its agents"),
    ("/csat", "agent ana,1004 2h", "Two agents, by name and by id"),
    ("/csat", "skill all 60m", "The same question inside the 5-minute bucket: no vendor call"),
    (
        "/agent-states",
        "zoe,“Ana”,1004 2h 30m",
        "Three agents' time, per half hour (accents and quotes optional)",
    ),
    ("/agent-states", "sam 2h", "Two agents go by Sam: the bot asks which, no vendor call"),
    ("/csat", "skill biling 2h", "A misspelt name: a suggestion, no vendor call"),
    ("/csat", "skill 99 2h", "An id the directory does not know: said so, no vendor call"),
    ("/agent-states", "all 60m", "Every agent over the last hour: the team at a glance"),
    ("/csat", "livechat 7d", "LiveChat: good ÷ (good + bad), the ranking and response times"),
    ("/csat", "livechat group all 7d", "LiveChat by group, each named by the license"),
    ("/agent-states", "livechat 7d", "LiveChat: logged-in, accepting and chatting time"),
    (FAULT, "skill 13 3h", "LivePerson fails three times in a row: the bot retries, then says so"),
    (
        "/csat",
        "skill 11 7d",
        "No history here (this part keeps no database): LivePerson keeps 24h, said at once",
    ),
    ("/agent-states", "all 60m 7m", "An interval that does not divide the timeframe"),
    ("/csat", "skil 11", "A typo: the bot says what is wrong and how to ask"),
    ("/csat", "help", "Help"),
]


ZONE = ZoneInfo("Europe/Berlin")


def _print_message(label: str, message: Message) -> None:
    print(f"  {label}")
    shown = to_text(message, ZONE).rstrip()  # Slack shows <!date^…> in each reader's zone
    print(textwrap.indent(shown, "  │ ", predicate=lambda _: True))


DIGESTS = """
timezone = "Europe/Berlin"
default_source = "liveperson"

[[digest]]
name = "csat-daily"
kind = "csat"
channel = "C0TEAMLEADS"
cron = "0 9 * * 1-5"
skills = "all"
timeframe = "24h"

[[digest]]
name = "csat-watch"
kind = "csat"
channel = "C0TEAMLEADS"
cron = "0 9 * * 1-5"
skills = "all"
timeframe = "24h"
post = false

[[digest]]
name = "availability-daily"
kind = "availability"
channel = "C0TEAMLEADS"
cron = "0 9 * * 1-5"
timeframe = "8h"

[alerts]
channel = "C0ALERTS"
mention = "<!subteam^S0LEADS>"
min_answers = 20
"""
# the simulated week: Monday 23 November 2026, 09:00 in Berlin, and the mornings after it
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=ZONE)
JONAS = "12:1006"  # Jonas, in Orders (skill 12): the one agent behind the drop


def _print_posts(slack: SimulatedSlack, since: int) -> int:
    """Print what the bot posted to Slack since call number `since`; the new count."""
    calls = slack.calls[since:]
    sizes: dict[str, int] = {}
    for call in calls:
        if call.path == "/api/chat.postMessage":
            body = call.data()
            where = f"#{body['channel']}" + (" (in the thread)" if body.get("thread_ts") else "")
            _print_message(f"posted to {where}:", body)
            if not body.get("thread_ts"):
                _print_buttons(body)
        elif call.path == "/api/chat.update":
            _print_message(f"updated the message in #{call.data()['channel']}:", call.data())
            _print_buttons(call.data())
        elif call.path == "/api/files.getUploadURLExternal":
            data = call.data()
            sizes[str(data.get("filename"))] = int(data.get("length", 0))
        elif call.path == "/api/files.completeUploadExternal":
            data = call.data()
            files = data.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            where = (
                "in the thread" if data.get("thread_ts") else f"posted to #{data.get('channel_id')}"
            )
            for file in files:
                name = str(file.get("title") or "")
                print(f"  📎 {where}: {name} ({sum(sizes.values()):,} bytes)")
            if data.get("initial_comment"):
                print(f"  │ {data['initial_comment']}")
            sizes.clear()
    return len(slack.calls)


def _print_buttons(message: Message) -> None:
    """The buttons and menus of a message, as Slack draws them under it."""
    blocks = message.get("blocks")
    if isinstance(blocks, str):  # form-encoded: the blocks are JSON text
        blocks = json.loads(blocks)
    for block in blocks or []:
        if block.get("type") == "actions":
            shown = [
                f"[{e['text']['text']}]"
                if e["type"] == "button"
                else f"[{e['placeholder']['text']} ▾]"
                for e in block["elements"]
            ]
            print("  │ " + " ".join(shown))


def _clock(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at `moment`: the simulated week's time, in UTC as the bot keeps it."""
    return lambda: moment.astimezone(UTC)


async def run_digests(lp: SimulatedLivePerson, slack: SimulatedSlack, folder: Path) -> None:
    """A week of mornings on a simulated clock: on Wednesday one agent in Orders (Jonas)
    makes Orders' customers unhappy; a lead takes the alert; Friday it has recovered."""
    (folder / "bot.toml").write_text(DIGESTS, encoding="utf-8")
    env = {
        **lp.env(),
        "BOT_CONFIG": str(folder / "bot.toml"),
        "BOT_DB": str(folder / "bot.db"),
        "SLACK_BOT_TOKEN": "xoxb-demo",
        "SLACK_API_URL": slack.api_url,
        "BOT_INGEST_TOKEN": "demo-survey-tool",
    }
    seen = len(slack.calls)
    drop = {JONAS: -0.6}
    mornings = [
        (0, {}, ["csat-daily"], "Monday 09:00: the CSAT digest (the first: nothing to compare)"),
        (1, {}, ["csat-daily", "csat-watch"], "Tuesday 09:00: an ordinary day, and a watch"),
        (2, drop, ["csat-daily", "csat-watch"],
         "Wednesday 09:00: one agent's customers in Orders are unhappy: the digest, and one "
         "alert whose notification says what dropped and by how much"),
        (3, drop, ["csat-daily", "csat-watch"],
         "Thursday 09:00: still down: two digests see it, the thread hears once, nobody is pinged"),
        (4, {}, ["csat-daily", "csat-watch"],
         "Friday 09:00: recovered: the thread states the level, the alert resolves"),
        (4, {}, ["availability-daily"], "Friday 09:00: the availability digest, last 8 hours"),
    ]  # fmt: skip
    for day, shift, digests, why in mornings:
        lp.day, lp.shift = day + 1, shift
        morning = MONDAY + timedelta(days=day)
        print(f"━━ {why}\n▶ at {morning:%a %d %b %H:%M}, the scheduler runs "
              + ", ".join(digests))  # fmt: skip
        # a new process each morning, on the simulated clock: a fresh cache
        parts = build_parts(config.load(env), _clock(morning))
        try:
            rows = 0
            for digest in digests:
                rows += (await parts.digests.run(digest, scheduled_for=morning)).rows
            await parts.alerting.drain()
            seen = _print_posts(slack, seen)
            if day == 2:  # a lead takes the alert
                alert_id = parts.store.sync(
                    lambda db: db.execute("select max(id) from alerts").fetchone()[0]
                )
                print("━━ Wednesday 09:12: Ana clicks [Acknowledge] on the alert\n")
                parts.alerting.clock = _clock(morning + timedelta(minutes=12))
                await parts.alerting.act(alert_id, "U0ANA", Click.ACKNOWLEDGE, name="Ana")
                seen = _print_posts(slack, seen)
            if day == 3:  # unhappy customers, from the survey tool
                seen = await _detractors(parts, slack, seen, morning)
        finally:
            await parts.aclose()
        print(f"  stored snapshots of {rows} rows in SQLite\n")


HISTORY = """
timezone = "Europe/Berlin"
default_source = "liveperson"

[[digest]]
name = "csat-weekly"
kind = "csat"
channel = "C0TEAMLEADS"
cron = "0 9 * * 1"
skills = "all"
timeframe = "7d"
"""
# three weeks of a LivePerson account, collected twice a day as `serve` would collect it
# every hour; the customers of Orders (skill 12) unhappy from Tuesday to Thursday of the
# last week
# at HH:07:30, as `serve` collects: a collection plans about 30 s past a minute
COLLECTING_FROM = datetime(2026, 11, 9, 9, 7, 30, tzinfo=ZONE)
WEEK_AFTER = datetime(2026, 11, 30, 9, 7, 30, tzinfo=ZONE)
UNHAPPY = (
    datetime(2026, 11, 24, 21, 7, 30, tzinfo=ZONE),
    datetime(2026, 11, 26, 21, 7, 30, tzinfo=ZONE),
)


async def run_history(slack: SimulatedSlack, folder: Path) -> None:
    """LivePerson keeps 24 hours; the bot keeps the rest. Three weeks collected, then a
    week and a month asked for, a trend and its chart, the weekly digest week over week,
    and a collection run twice that counts nothing twice."""
    from bot.app import history_collector
    from bot.history.collector import lines
    from bot.listeners.trend import handle_post_chart

    now = [COLLECTING_FROM]
    with SimulatedLivePerson(timeline=True, clock=lambda: now[0].timestamp()) as lp:
        start = COLLECTING_FROM.replace(minute=0, second=0)
        night = [start + timedelta(hours=13 + n) for n in range(8)]
        lp.silent = {  # nobody answers at night, 22:00 to 06:00
            int((hour + timedelta(days=d)).timestamp()) for d in range(-1, 23) for hour in night
        }
        (folder / "history.toml").write_text(HISTORY, encoding="utf-8")
        env = {**lp.env(), "BOT_CONFIG": str(folder / "history.toml"),
               "BOT_DB": str(folder / "history.db"), "SLACK_BOT_TOKEN": "xoxb-demo",
               "SLACK_API_URL": slack.api_url}  # fmt: skip
        parts = build_parts(config.load(env), lambda: now[0].astimezone(UTC))
        collector = history_collector(parts, always=True)
        assert collector is not None
        collector.clock = parts.commands.trends.clock = lambda: now[0].astimezone(UTC)  # type: ignore[union-attr]
        try:
            print("━━ History: LivePerson keeps 24 hours, the bot keeps the rest")
            print(
                f"▶ from {COLLECTING_FROM:%a %d %b}, `serve` collects every hour (here: twice a"
                " day, at 09:07 and 21:07); the first collection stores the 23 complete hours"
                " LivePerson still reaches"
            )
            calls, collections = len(lp.calls), 0
            while now[0] <= WEEK_AFTER:
                lp.shift = {"12": -0.35} if UNHAPPY[0] <= now[0] <= UNHAPPY[1] else {}
                result = await collector.collect()
                if collections == 0:
                    for line in lines(result, ZONE):
                        print(f"  {line}")
                collections += 1
                now[0] += timedelta(hours=12)
            now[0] = WEEK_AFTER + timedelta(minutes=8)
            count = "select count(*) from history_hours where kind = 'csat'"
            hours = parts.store.sync(lambda db: db.execute(count).fetchone()[0])
            print(
                f"  … {collections} collections, {len(lp.calls) - calls} LivePerson calls: "
                f"{hours} hours of CSAT and of agent states, to {WEEK_AFTER:%a %d %b %H}:00\n"
            )
            commands = parts.commands
            answered: list[Message] = []

            async def ack(**message: object) -> None:
                _print_message("ack (only you see it, at once):", message)

            async def respond(**message: object) -> None:
                answered.append(message)
                _print_message("answer (through response_url):", message)
                _print_buttons(message)

            def reports() -> int:  # calls for reports, not for the directory's names
                return len(lp.data_calls()) + len(lp.data_calls("agentactivity"))

            for text, why in (
                ("skill orders 7d", "A week of one skill, from the history: no vendor call"),
                ("skill all 30d", "A month asked for: the history covers three weeks, and says so"),
                ("trend skill orders 30d", "The month at a glance: Orders' dip is real"),
            ):
                before = reports()
                print(f"━━ {why}\n▶ /csat {text}")
                body = {"command": "/csat", "text": text, "channel_id": "C0TEAMLEADS"}
                plan = await handle_command(body, ack, commands)
                if plan.query is not None:
                    await answer_command(plan, respond, commands)
                print(f"  LivePerson report calls for this command: {reports() - before}\n")
            before = reports()
            print("━━ /agent-states all 7d 1d: each agent's week, day by day in Berlin\n"
                  "▶ /agent-states all 7d 1d")  # fmt: skip
            plan = await handle_command({"command": "/agent-states", "text": "all 7d 1d"},
                                        ack, commands)  # fmt: skip
            if plan.query is not None:
                await answer_command(plan, respond, commands)
            print(f"  LivePerson report calls for this command: {reports() - before}\n")
            seen = len(slack.calls)
            print("━━ Ana clicks [Post chart to channel] under the trend")
            value = _button_value(answered[2]) if len(answered) > 2 else None

            async def told(**message: object) -> None:
                _print_message("only Ana sees:", message)

            click = {"user": {"id": "U0ANA", "name": "ana"}, "channel": {"id": "C0TEAMLEADS"},
                     "actions": [{"action_id": "trend_post_chart", "value": value}]}  # fmt: skip
            await handle_post_chart(click, told, commands.trends, parts.alerting.poster,
                                    commands.renderer, now[0])  # fmt: skip
            seen = _print_posts(slack, seen)
            print("━━ Monday 09:15: the weekly digest, from the history, week over week")
            await parts.digests.run("csat-weekly")
            seen = _print_posts(slack, seen)
            print("━━ `python -m bot collect` run again at once: nothing is counted twice")
            calls = len(lp.calls)
            for line in lines(await collector.collect(), ZONE):
                print(f"  {line}")
            print(f"  LivePerson calls: {len(lp.calls) - calls}\n")
        finally:
            await parts.aclose()


def _button_value(message: Message) -> str | None:
    """The value of the first button of a message (the trend's chart button)."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or [] if isinstance(block, dict) else []:
            if isinstance(element, dict) and element.get("type") == "button":
                return str(element.get("value"))
    return None


BURST = [  # MaestroQA's bulk format, as a survey tool sends it
    {"ticket_id": "48213", "agent_id": "1006", "score": 1,
     "comment": "Waited 40 minutes and the order is still wrong."},
    {"ticket_id": "48220", "agent_id": "1006", "score": 1,
     "comment": "Nobody read what I wrote <!channel>"},
    {"ticket_id": "48231", "agent_id": "1011", "score": 1, "comment": "Third time I ask."},
]  # fmt: skip


async def _detractors(parts: Parts, slack: SimulatedSlack, seen: int, morning: datetime) -> int:
    """A burst of unhappy customers: one message with buttons, a lead takes one and marks
    it handled; a second burst in the same hour calls nobody in again."""
    assert parts.detractors is not None
    writer = Writer(parts.store)
    for minutes, burst in ((90, BURST[:2]), (110, BURST[2:])):
        moment = morning + timedelta(minutes=minutes)
        when = iso_ms(moment.astimezone(UTC))
        answers = f"{len(burst)} unhappy answer" + ("s" if len(burst) > 1 else "")
        quiet = (
            "; the leads were called in 20 minutes ago: nobody is pinged" if minutes == 110 else ""
        )
        print(f"━━ Thursday {moment:%H:%M}: the survey tool posts {answers} "
              f"(POST /api/v1/create-customer-feedback){quiet}")  # fmt: skip
        parts.detractors.now = _clock(moment)
        body = json.dumps({"data": [{**b, "submitted_at": when} for b in burst]})
        taken = await writer.take(body.encode(), when)
        assert isinstance(taken.checked, tuple)
        items = [i for i in taken.checked[1] if isinstance(i, Item)]
        await parts.detractors.post([Detractor.of(i) for i in items if i.detractor])
        seen = _print_posts(slack, seen)
        if minutes == 90:
            first = Detractor.of(items[0]).id
            print("━━ Thursday 10:35: Mei clicks [I'll take it], then [Handled] with a note\n")
            parts.detractors.now = _clock(moment + timedelta(minutes=5))
            await parts.detractors.take(first, "U0MEI", "Mei")
            await parts.detractors.handle(first, "U0MEI", "Called back, order fixed.", "Mei")
            seen = _print_posts(slack, seen)
    return seen


HOME = (
    DIGESTS
    + """
[slack]
admins = ["S0LEADS"]  # the user group of the team leads: Ana is in it, Mei is not
"""
)
ANA, MEI = "U0LEAD", "U0MEI"
NEXT_MONDAY = MONDAY + timedelta(days=7, minutes=-20)  # 08:40, before its digests


def _filled(form: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The form as Slack submits it: each input as the form shows it, or set from `values`."""
    state: dict[str, Any] = {}
    for block in form["blocks"]:
        if block.get("type") != "input":
            continue
        element, key = block["element"], block["block_id"]
        kind, chosen = element["type"], values.get(block["block_id"])
        if kind in ("plain_text_input", "number_input"):
            shown: dict[str, Any] = {"value": chosen or element.get("initial_value")}
        elif kind in ("static_select", "radio_buttons", "external_select"):
            option = {"value": chosen} if chosen else element.get("initial_option")
            shown = {"selected_option": option}
        elif kind == "conversations_select":
            shown = {"selected_conversation": chosen or element.get("initial_conversation")}
        else:
            shown = {"selected_options": [{"value": v} for v in chosen or []]}
        state[key] = {element["action_id"]: {"type": kind, **shown}}
    return {**form, "state": {"values": state}}


def _print_home(slack: SimulatedSlack, user: str, who: str) -> None:
    view = slack.views("publish")[-1]["view"]
    menus = sum(1 for b in view["blocks"] if (b.get("accessory") or {}).get("type") == "overflow")
    _print_message(f"{who}'s Home tab ({len(view['blocks'])} blocks, {menus} digest menus):",
                   {"text": "", "blocks": view["blocks"]})  # fmt: skip
    _print_buttons({"text": "", "blocks": view["blocks"]})


async def run_home(lp: SimulatedLivePerson, slack: SimulatedSlack, folder: Path) -> None:
    """A lead who never touches the server: the Home tab shows every digest, its next run
    and the open alerts; she adds a weekly digest from a form, previews it in her DM, and
    it posts at its time with no restart. A teammate sees the page and changes nothing."""
    from bot.digests.scheduler import DigestScheduler

    (folder / "home.toml").write_text(HOME, encoding="utf-8")
    env = {**lp.env(), "BOT_CONFIG": str(folder / "home.toml"), "BOT_DB": str(folder / "bot.db"),
           "SLACK_BOT_TOKEN": "xoxb-demo", "SLACK_API_URL": slack.api_url}  # fmt: skip
    now = [NEXT_MONDAY]
    parts = build_parts(config.load(env), lambda: now[0].astimezone(UTC))
    home = parts.home
    assert home is not None
    scheduler = DigestScheduler(parts.digests, lambda: now[0].astimezone(UTC), parts.catalog)
    scheduler.scheduler.start()
    parts.scheduler = scheduler
    lp.day, lp.shift = 1, {}
    try:
        print("━━ The Home tab: Monday 08:40, Ana (a team lead, in [slack] admins) opens it")
        await home.publish(ANA)
        _print_home(slack, ANA, "Ana")
        print("\n━━ Ana clicks [Add a digest or watch]: one input per bot.toml key")
        form = await home.form_for(ANA, None)
        assert isinstance(form, dict)
        keys = [b["block_id"] for b in form["blocks"] if b["type"] == "input"]
        print(f"  │ {form['title']['text']}: " + ", ".join(keys))
        weekly = {"name": "orders-weekly", "channel": "#orders", "cron": "0 9 * * 1",
                  "skills": ["12"], "timeframe": "24h"}  # fmt: skip
        print("▶ she types the channel's name, #orders, and submits")
        errors = await home.check_digest(ANA, "Ana", _filled(form, weekly))
        assert isinstance(errors, dict)
        for block, said in errors.items():
            print(f"  the form answers on its `{block}` block: {said}")
        print("▶ she picks the channel from the list instead (C0ORDERS) and submits")
        weekly["channel"] = "C0ORDERS"
        save = await home.check_digest(ANA, "Ana", _filled(form, weekly))
        assert not isinstance(save, dict)
        await save()
        await home.drain()
        made = "orders-weekly" in scheduler.triggers
        print(
            "  stored in SQLite with who and when; "
            + ("its job is in the scheduler at once, no restart" if made else "NOT scheduled")
        )
        _print_home(slack, ANA, "Ana")
        seen = len(slack.calls)
        print("\n━━ Ana picks [Send to me] in its menu: the digest, in her messages with the app")
        await home.button(ANA, "Ana", "preview", "orders-weekly")
        seen = _print_posts(slack, seen)
        print("━━ Mei (not an admin) opens the Home tab: the same page, no buttons")
        await home.publish(MEI)
        _print_home(slack, MEI, "Mei")
        print("▶ Mei sends a crafted form submission that would delete Ana's digest")
        refused = await home.check_delete(MEI, "Mei", {"private_metadata": "orders-weekly"})
        if not isinstance(refused, dict):
            await refused()
        seen = _print_posts(slack, seen)
        kept = await home.catalog.names()
        print(f"  digests still there: {', '.join(kept)}; the refusal is logged and audited\n")
        now[0] = MONDAY + timedelta(days=7, seconds=5)
        print(f"━━ {now[0]:%a %d %b %H:%M}: the scheduler fires orders-weekly (nobody restarted)")
        await scheduler.fire("orders-weekly", scheduler.triggers["orders-weekly"])
        await scheduler.fire("orders-weekly", scheduler.triggers["orders-weekly"])  # twice
        seen = _print_posts(slack, seen)
        await parts.alerting.drain()
        posted = len(slack.posts("C0ORDERS"))
        print(
            f"  fired twice, posted {posted} time{'s' * (posted != 1)}: each scheduled time once\n"
        )
        trail = parts.store.sync(lambda db: db.execute(
            "select action, target, user from config_audit order by id").fetchall())  # fmt: skip
        print("━━ What the Home tab's history lists (config_audit):")
        for action, target, user in trail:
            print(f"  │ {action:8} {target:14} by {user}")
        print()
    finally:
        scheduler.shutdown()
        await parts.aclose()


async def run_demo() -> int:
    """Run the script against the simulations and print every message."""
    logging.getLogger("bot").setLevel(logging.ERROR)  # the replies say it all
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # the Home tab's jobs: said
    with SimulatedLivePerson() as lp, SimulatedLiveChat() as lc:
        settings = config.load({**lp.env(), **lc.env(), "BOT_CONFIG": "/nonexistent/bot.toml"})
        settings = replace(settings, timezone=ZoneInfo("Europe/Berlin"))
        commands = build_commands(settings)
        print(f"Simulated LivePerson account {lp.account} on {lp.url}")
        print("  skills:", ", ".join(f"{k} {v}" for k, v in SKILLS.items()))
        print(f"Simulated LiveChat license on {lc.url} (the Reports API document's examples)")
        print("Times are shown in Europe/Berlin.\n")
        try:
            for command, text, why in SCRIPT:
                if command == FAULT:
                    lp.fail("/msgcsatdistribution", status=503, times=3)
                    command = "/csat"
                before = len(lp.calls) + len(lc.calls)
                print(f"━━ {why}\n▶ {command} {text}".rstrip())

                async def ack(**message: object) -> None:
                    _print_message("ack (only you see it, at once):", message)

                async def respond(**message: object) -> None:
                    _print_message("answer (through response_url):", message)

                plan = await handle_command({"command": command, "text": text}, ack, commands)
                if plan.query is not None:
                    await answer_command(plan, respond, commands)
                print(
                    f"  vendor calls for this command: {len(lp.calls) + len(lc.calls) - before}\n"
                )
        finally:
            await commands.sources.aclose()
        with SimulatedSlack() as slack, tempfile.TemporaryDirectory() as folder:
            await run_digests(lp, slack, Path(folder))
            await run_history(slack, Path(folder))
        with SimulatedSlack() as slack, tempfile.TemporaryDirectory() as folder:
            await run_home(lp, slack, Path(folder))
    print("Done. Every message above passed Slack's block models and limits.")
    return 0

"""A simulated LivePerson account: Domain API, sentinel tokens, the Operations API
(msgcsatdistribution, agentactivity) and the Account Configuration directories.

Answers in LivePerson's real response shapes, with counts that follow from the skill or
agent id and the timeframe, so the same question gives the same numbers. OAuth 1.0
signatures are verified for real; Bearer tokens must be ones this server issued.

The directories (users, skills, agentGroups, status-reasons) give the ids in reports their
names, with the awkward cases a real account has: accents, two agents with one nickname,
an agent with no nickname, people and skills deleted since, an agent in no group.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Literal, cast

from oauthlib.oauth1.rfc5849 import signature

from bot.demo.sim.server import Call, LoopbackServer, Reply, reply

SKILLS = {
    "11": "Billing",
    "12": "Orders",
    "13": "Returns",
    "14": "Tech support",
    "-1": "Unassigned",
}
AGENTS = {
    "11": ["1001", "1002", "1003"],
    "12": ["1004", "1005", "1006", "1007"],
    "13": ["1008", "1009"],
    "14": ["1010", "1011", "1012"],
    "-1": ["1001", "1004"],
}
# per agent (and one who left, 1013): (nickname, fullName, loginName). Real accounts have
# accents, nicknames two people share and nicknames left empty; the bot must cope with all
AGENT_NAMES = {
    "1001": ("Ana", "Ana Souza", "ana.souza"),
    "1002": ("Zoë", "Zoë Lefèvre", "zoe.lefevre"),
    "1003": ("Kwame", "Kwame Mensah", "kwame.mensah"),
    "1004": ("Sam", "Samuel Okafor", "samuel.okafor"),
    "1005": ("Mei", "Mei Chen", "mei.chen"),
    "1006": ("Jonas", "Jonas Becker", "jonas.becker"),
    "1007": ("Lucía", "Lucía Fernández", "lucia.fernandez"),
    "1008": ("Oli", "Oliver Hughes", "oliver.hughes"),
    "1009": ("Sam", "Samantha Reyes", "samantha.reyes"),
    "1010": ("Dmitri", "Dmitri Volkov", "dmitri.volkov"),
    "1011": ("", "Priya Raman", "priya.raman"),
    "1012": ("Jo", "Johanna Berg", "johanna.berg"),
    "1013": ("Tom", "Tomás Ortega", "tomas.ortega"),  # deleted: left, but older reports name him
}
DELETED_AGENTS = {"1013"}
# agent groups; memberOf.agentGroupId is a number, the groups list quotes ids as strings
GROUPS = {"2001": ("Team North", -1), "2002": ("Team South", -1), "2003": ("Night shift", 2001)}
AGENT_GROUP = {  # 1012 is in no group: LivePerson then leaves memberOf out
    **dict.fromkeys(["1001", "1002", "1003", "1004", "1005"], 2001),
    **dict.fromkeys(["1006", "1007", "1008", "1009"], 2002),
    **dict.fromkeys(["1010", "1011", "1013"], 2003),
}
SKILL_DESCRIPTIONS = {
    "11": "Invoices, refunds and payment methods",
    "12": "Order status and changes",
    "13": "Returns and exchanges",
    "14": "Devices, apps and connectivity",
}
DELETED_SKILLS = {"15": ("Old promo", "Spring promotion, retired")}
# status (away) reasons: the ids agentactivity reports under Away, as numbers here
REASON_TEXTS = {"2642559712": ("Lunch", "Away"), "2642559112": ("Coaching", "Away")}
# the header that carries each collection's revision
REVISION_HEADERS = {
    "users": "eTag",
    "skills": "eTag",
    "agentGroups": "eTag",
    "status-reasons": "ac-revision",
}
# per agent: how happy its customers tend to be, 0..1
MOOD = {a: 0.45 + (int(a) * 37 % 50) / 100 for a in itertools.chain(*AGENTS.values())}


def csat_counts(
    agent: str, skill: str, timeframe: int, day: int = 0, shift: float = 0.0
) -> dict[str, Any]:
    """Deterministic answers for one agent in one skill over `timeframe` minutes.

    `day` adds day-to-day noise; `shift` moves the share of happy customers (a drop).
    """
    seed = int(hashlib.sha256(f"{agent}:{skill}".encode()).hexdigest()[:8], 16)
    daily = int(hashlib.sha256(f"{agent}:{skill}:{day}".encode()).hexdigest()[:8], 16)
    jitter = 1 + (daily % 21 - 10) / 100 if day else 1.0  # volume: ±10 % day to day
    volume = max(0, round(timeframe / 60 * (4 + seed % 9) * (0.3 if skill == "-1" else 1) * jitter))
    noise = (daily % 7 - 3) / 200 if day else 0.0  # happiness: a point or so either way
    mood = min(0.99, max(0.05, MOOD.get(agent, 0.8) + noise + shift))
    weights = [(1 - mood) * 0.5, (1 - mood) * 0.3, (1 - mood) * 0.2, mood * 0.35, mood * 0.65]
    scores = [int(volume * w) for w in weights]
    scores[4] += volume - sum(scores)
    return metrics(scores)


def metrics(scores: list[int]) -> dict[str, Any]:
    """LivePerson's metric names for five score counts; csat_score as a fraction."""
    total = sum(scores)
    positive = scores[3] + scores[4]
    out: dict[str, Any] = {f"csat_score{i + 1}_answers": n for i, n in enumerate(scores)}
    out.update(
        total_answers=total,
        positive_answers=positive,
        csat_score=round(positive / total, 4) if total else 0,
    )
    return out


def _sum(items: list[dict[str, Any]]) -> dict[str, Any]:
    return metrics([sum(m[f"csat_score{i}_answers"] for m in items) for i in range(1, 6)])


class SimulatedLivePerson(LoopbackServer):
    """A LivePerson account `account` reachable through its own Domain API."""

    def __init__(
        self,
        account: str = "90233546",
        client_id: str = "demo-client",
        client_secret: str = "demo-secret",
        oauth1: tuple[str, str, str, str] = (
            "demo-key",
            "demo-key-secret",
            "demo-token",
            "demo-token-secret",
        ),
        skills_element: str = "skillsMetricsPerAgent",
        timeline: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`timeline`: answers that are sums over time (see `timeline_csat`), read at
        `clock()` (unix seconds), so windows that nest differ by exactly their hours."""
        super().__init__()
        self.timeline = timeline
        self.clock = clock
        self.silent: set[int] = set()  # timeline: hour starts (unix s) with nobody there
        self.account = account
        self.client_id, self.client_secret = client_id, client_secret
        self.oauth1 = oauth1
        self.skills_element = skills_element
        self.tokens: dict[str, str] = {}  # token -> the version of the URL that gave it
        # which tokens the Operations API takes, and whether legacy keys still work: a
        # LivePerson that moved on (V1 tokens for the Connector API only, OAuth 1 retired)
        self.data_accepts: set[str] = {"v1", "v2"}
        self.oauth1_retired = False
        self.overrides: dict[str, Any] = {}  # path fragment -> fixed JSON body
        self.day = 0  # a new day: the same contact center, slightly different numbers
        # skill (or "skill:agent": one agent in it) -> change in happy share (a drop: -0.3)
        self.shift: dict[str, float] = {}
        # the directories: bump the revision to say "changed"; refuse a collection to act
        # as a key without that privilege ("users", "skills", "agentGroups", "status-reasons")
        self.directory_revision = 1
        self.refused_collections: set[str] = set()
        self._issued = itertools.count(1)

    def env(self, oauth: str = "2") -> dict[str, str]:
        """Environment variables that point the bot at this account via its Domain API."""
        env = {"LIVEPERSON_ACCOUNT_ID": self.account, "LIVEPERSON_DOMAIN_API_URL": self.url}
        if oauth == "2":
            env |= {
                "LIVEPERSON_CLIENT_ID": self.client_id,
                "LIVEPERSON_CLIENT_SECRET": self.client_secret,
            }
        else:
            key, key_secret, token, token_secret = self.oauth1
            env |= {
                "LIVEPERSON_CONSUMER_KEY": key,
                "LIVEPERSON_CONSUMER_SECRET": key_secret,
                "LIVEPERSON_TOKEN": token,
                "LIVEPERSON_TOKEN_SECRET": token_secret,
            }
        return env

    def revoke_tokens(self) -> None:
        """Forget every issued token, as when LivePerson expires them early."""
        self.tokens.clear()

    def data_calls(self, report: str = "msgcsatdistribution") -> list[Call]:
        return self.calls_to(f"/{report}")

    def route(self, call: Call) -> Reply:
        acct = re.escape(self.account)
        if m := re.fullmatch(rf"/api/account/{acct}/service/(\w+)/baseURI\.json", call.path):
            return reply(200, {"service": m.group(1), "account": self.account, "baseURI": self.url})
        if re.fullmatch(rf"/sentinel/api/account/{acct}/app/token", call.path):
            return self._token(call, "v1")
        if re.fullmatch(rf"/sentinel/api/v2/account/{acct}/app/token", call.path):
            return self._token(call, "v2")
        directory = rf"/api/account/{acct}/configuration/(le-users/(users|skills|agentGroups)"
        if m := re.fullmatch(rf"{directory}|le-agents/(status-reasons))", call.path):
            return self._directory(call, m.group(2) or m.group(3))
        if not call.path.startswith(f"/operations/api/account/{self.account}/"):
            return reply(404, {"error": "unknown account or path"})
        if not self._authorised(call):
            return reply(401, {"error": "Unauthorized"})
        for fragment, body in self.overrides.items():
            if fragment in call.path:
                return reply(200, body)
        if call.path.endswith("/msgcsatdistribution"):
            return self._csat(call.query)
        if call.path.endswith("/agentactivity"):
            params = call.query if call.method == "GET" else {
                k: str(v) for k, v in (call.json() or {}).items()
            }  # fmt: skip
            return self._activity(params)
        return reply(404, {"error": "unknown report"})

    def _token(self, call: Call, version: str) -> Reply:
        form = call.form()
        grant = call.query.get("grant_type") if version == "v1" else form.get("grant_type")
        if grant != "client_credentials" or (version == "v1" and call.query.get("v") != "1.0"):
            return reply(400, {"error": "unsupported_grant_type"})
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return reply(401, {"error": "invalid_client"})
        token = f"sim-token-{version}-{next(self._issued)}"
        self.tokens[token] = version
        return reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _authorised(self, call: Call) -> bool:
        header = call.headers.get("authorization", "")
        if header.startswith("Bearer "):
            return self.tokens.get(header[7:]) in self.data_accepts
        if header.startswith("OAuth "):
            return not self.oauth1_retired and self._valid_oauth1(call, header)
        return False

    def _valid_oauth1(self, call: Call, header: str) -> bool:
        key, key_secret, token, token_secret = self.oauth1
        params = dict(
            signature.collect_parameters(
                headers={"Authorization": header}, exclude_oauth_signature=False
            )
        )
        if params.get("oauth_consumer_key") != key or params.get("oauth_token") != token:
            return False
        query = "&".join(f"{k}={v}" for k, v in call.query.items())
        collected = signature.collect_parameters(
            uri_query=query, headers={"Authorization": header}, exclude_oauth_signature=True
        )
        base = signature.signature_base_string(
            cast("Literal['GET', 'POST']", call.method),
            signature.base_string_uri(f"{self.url}{call.path}"),
            # the stub says a dict; oauthlib means the (key, value) pairs collected above
            signature.normalize_parameters(collected),  # type: ignore[arg-type]
        )
        secrets = SimpleNamespace(client_secret=key_secret, resource_owner_secret=token_secret)
        expected = signature.sign_hmac_sha1_with_client(base, secrets)
        return hmac.compare_digest(expected, params.get("oauth_signature", ""))

    def _directory(self, call: Call, collection: str) -> Reply:
        """One Account Configuration collection, whole, with its revision header."""
        if call.method != "GET":
            return reply(405, {"error": "Method Not Allowed"})
        if not self._authorised(call):
            return reply(401, {"error": "Unauthorized"})
        if collection in self.refused_collections:
            return reply(403, {"error": "Missing privilege"})
        revision = f"{collection}-{self.directory_revision}"
        override = next((b for f, b in self.overrides.items() if f in call.path), None)
        if override is not None:
            # a test that swaps the collection changes its revision too, as LivePerson would
            digest = hashlib.sha256(json.dumps(override, sort_keys=True).encode()).hexdigest()
            revision += f"-{digest[:8]}"
        headers = {REVISION_HEADERS[collection]: revision}
        if call.headers.get("if-none-match", "").strip('"') == revision:
            return reply(304, b"", headers)
        if override is not None:
            return reply(200, override, headers)
        deleted = call.query.get("include_deleted", "").lower() == "true"
        return reply(200, directory(collection, deleted), headers)

    def _counts(self, agent: str, skill: str, timeframe: int) -> dict[str, Any]:
        shift = self.shift.get(f"{skill}:{agent}", self.shift.get(skill, 0.0))
        return csat_counts(agent, skill, timeframe, self.day, shift)

    def _timeline_csat(self, query: dict[str, str], timeframe: int) -> dict[str, Any]:
        """msgcsatdistribution over whole buckets from floor5(now - timeframe) to now."""
        now = self.clock()
        start = (now - timeframe * 60) // BUCKET * BUCKET

        def counts(agent: str, skill: str) -> dict[str, Any]:
            shift = self.shift.get(f"{skill}:{agent}", self.shift.get(skill, 0.0))
            return metrics(timeline_csat(agent, skill, start, now, shift, self.silent))

        skills = _ids(query.get("skillIds"), list(SKILLS))
        if skills is not None:
            per_skill = {}
            for sid in skills:
                members = {a: counts(a, sid) for a in AGENTS.get(sid, [])}
                if members:
                    per_skill[sid] = {
                        "metricsPerAgent": members,
                        "metricsTotals": _sum(list(members.values())),
                    }
            totals = _sum([s["metricsTotals"] for s in per_skill.values()] or [metrics([0] * 5)])
            return {self.skills_element: {"metricsPerSkill": per_skill, "metricsTotals": totals}}
        every = sorted(set(itertools.chain(*AGENTS.values())))
        agents = _ids(query.get("agentIds"), every)
        if agents is not None:
            per_agent = {
                aid: _sum([counts(aid, sid) for sid, members in AGENTS.items() if aid in members])
                for aid in agents
                if aid in every
            }
            totals = _sum(list(per_agent.values()) or [metrics([0] * 5)])
            return {"agentsMetrics": {"metricsPerAgent": per_agent, "metricsTotals": totals}}
        everything = [counts(a, s) for s, members in AGENTS.items() for a in members]
        return {"metricsTotals": _sum(everything)}

    def _activity(self, query: dict[str, str]) -> Reply:
        return _activity_answer(self, query)

    def _csat(self, query: dict[str, str]) -> Reply:
        try:
            timeframe = int(query.get("timeframe", ""))
        except ValueError:
            return reply(400, {"error": "timeframe is required"})
        if not 0 < timeframe <= 1440 or query.get("v") != "1":
            return reply(400, {"error": "timeframe must be 1..1440 and v=1"})
        if self.timeline:
            return reply(200, self._timeline_csat(query, timeframe))
        skills = _ids(query.get("skillIds"), list(SKILLS))
        agents = _ids(query.get("agentIds"), sorted(set(itertools.chain(*AGENTS.values()))))
        if skills is not None:
            per_skill = {}
            for sid in skills:
                members = {a: self._counts(a, sid, timeframe) for a in AGENTS.get(sid, [])}
                if members:
                    per_skill[sid] = {
                        "metricsPerAgent": members,
                        "metricsTotals": _sum(list(members.values())),
                    }
            totals = (
                _sum([s["metricsTotals"] for s in per_skill.values()])
                if per_skill
                else metrics([0] * 5)
            )
            return reply(
                200, {self.skills_element: {"metricsPerSkill": per_skill, "metricsTotals": totals}}
            )
        if agents is not None:
            per_agent = {}
            for aid in agents:
                rows = [
                    self._counts(aid, sid, timeframe)
                    for sid, members in AGENTS.items()
                    if aid in members
                ]
                if rows:
                    per_agent[aid] = _sum(rows)
            totals = _sum(list(per_agent.values())) if per_agent else metrics([0] * 5)
            return reply(
                200, {"agentsMetrics": {"metricsPerAgent": per_agent, "metricsTotals": totals}}
            )
        everything = [
            self._counts(a, s, timeframe) for s, members in AGENTS.items() for a in members
        ]
        return reply(200, {"metricsTotals": _sum(everything)})


def directory(collection: str, include_deleted: bool = False) -> list[dict[str, Any]]:
    """A directory collection in LivePerson's shape: ids are numbers (groups' strings)."""
    if collection == "users":
        return [
            _user(agent) for agent in AGENT_NAMES if include_deleted or agent not in DELETED_AGENTS
        ]
    if collection == "skills":
        skills = [
            {"id": int(sid), "name": name, "description": SKILL_DESCRIPTIONS[sid],
             "deleted": False, "skillOrder": order}
            for order, (sid, name) in enumerate(
                ((s, n) for s, n in SKILLS.items() if s != "-1"), start=1)
        ]  # fmt: skip
        if include_deleted:
            skills += [
                {"id": int(sid), "name": name, "description": text, "deleted": True,
                 "skillOrder": len(skills) + i}
                for i, (sid, (name, text)) in enumerate(DELETED_SKILLS.items(), start=1)
            ]  # fmt: skip
        return skills
    if collection == "agentGroups":
        return [
            {"id": gid, "name": name, "parentGroupId": parent, "isEnabled": True, "deleted": False}
            for gid, (name, parent) in GROUPS.items()
        ]
    return [
        {"text": REASON_TEXTS[rid][0], "state": REASON_TEXTS[rid][1], "enabled": True,
         "id": int(rid), "deleted": False}
        for rid in REASONS
    ]  # fmt: skip


def _user(agent: str) -> dict[str, Any]:
    nickname, full_name, login = AGENT_NAMES[agent]
    gone = agent in DELETED_AGENTS
    user: dict[str, Any] = {
        "id": int(agent),
        "nickname": nickname,
        "fullName": full_name,
        "loginName": login,
        "deleted": gone,
        "isEnabled": not gone,
        "isApiUser": False,
        "skillIds": [int(s) for s, members in AGENTS.items() if s != "-1" and agent in members],
        "email": f"{login}@example.com",
        "employeeId": f"E{agent}",
    }
    if agent in AGENT_GROUP:
        day = int(agent) % 28 + 1
        user["memberOf"] = {
            "agentGroupId": AGENT_GROUP[agent],
            "assignmentDate": f"2023-02-{day:02d} 09:{int(agent) % 60:02d}:00",
        }
    return user


def _activity_answer(self: SimulatedLivePerson, query: dict[str, str]) -> Reply:
    try:
        timeframe = int(query.get("timeframe", ""))
        interval = int(query["interval"]) if query.get("interval") else None
    except ValueError:
        return reply(400, {"error": "timeframe and interval are numbers of minutes"})
    if query.get("v") != "1" or not query.get("agentIds") or not 0 < timeframe <= 1440:
        return reply(400, {"error": "timeframe 1..1440, agentIds and v=1 are required"})
    if interval is not None and (interval < 5 or interval > timeframe or timeframe % interval):
        return reply(400, {"error": "interval must be >= 5, <= timeframe and divide it"})
    every = sorted(set(itertools.chain(*AGENTS.values())))
    agents = [a for a in _ids(query["agentIds"], every) or [] if a in every]
    if self.timeline and interval is None:
        now = self.clock()
        per_agent = {a: timeline_states(a, now - timeframe * 60, now, self.silent) for a in agents}
        return reply(200, {"agentsMetrics": {"metricsPerAgent": per_agent, "metricsTotals": []}})
    if interval is None:
        per_agent = {a: agent_states(a, timeframe * 60) for a in agents}
        return reply(200, {"agentsMetrics": {"metricsPerAgent": per_agent, "metricsTotals": []}})
    now_ms = int(time.time() * 1000)
    step = interval * 60_000
    last_end = -(-now_ms // 300_000) * 300_000  # the latest end is rounded up to 5 minutes
    count = -(-(last_end - (now_ms - timeframe * 60_000)) // step)  # the earliest is partial
    slices = []
    for k in range(count):
        end = last_end - k * step
        per_agent = {a: agent_states(a, interval * 60, salt=end // step) for a in agents}
        slices.append({"timestamp": end, "metricsData": {
            "agentsMetrics": {"metricsPerAgent": per_agent, "metricsTotals": []}}})  # fmt: skip
    return reply(200, {"metricsByIntervals": slices,
                       "agentsMetrics": {"metricsPerAgent": {}, "metricsTotals": []}})  # fmt: skip


def _ids(value: str | None, every: list[str]) -> list[str] | None:
    if value is None:
        return None
    return every if value == "all" else [v for v in value.split(",") if v]


REASONS = ["2642559712", "2642559112"]


def agent_states(agent: str, seconds: int, salt: int = 0) -> list[dict[str, Any]]:
    """One agent's states over `seconds`, in agentactivity's shape (Logged in last)."""
    seed = int(hashlib.sha256(f"{agent}:{salt}".encode()).hexdigest()[:8], 16)
    logged = seconds * (50 + seed % 50) // 100
    away = logged * (seed % 15) // 100
    back = logged * (seed // 7 % 20) // 100
    online = logged - away - back
    chatting_online = online * (seed // 11 % 70) // 100
    maxed = chatting_online * (seed // 13 % 30) // 100
    reasons = []
    if away and seed % 3:
        first = away * 2 // 3
        second = away - first
        reasons = [
            {"id": REASONS[0], "value": _time(first, 0, first, 0)},
            {"id": REASONS[1], "value": _time(second, 0, second, 0)},
        ]
    chatting, idle = chatting_online, online - chatting_online
    return [
        {"id": 2, "name": "Online", "value": _time(online, chatting, idle, maxed)},
        {"id": 3, "name": "Back in 5", "value": _time(back, 0, back, 0)},
        {"reasons": reasons, "id": 4, "name": "Away", "value": _time(away, 0, away, 0)},
        {"id": -1, "name": "Logged in", "value": _time(logged, chatting, logged - chatting, maxed)},
    ]


def _time(total: int, chatting: int, not_chatting: int, maxed: int) -> dict[str, int]:
    return {"total": total, "chatting": chatting, "notChatting": not_chatting,
            "chattingInMaxConcurrency": maxed}  # fmt: skip


# --- the timeline: answers that are sums over time -----------------------------------------

BUCKET = 300  # seconds: LivePerson's CSAT buckets


def hour_scores(
    agent: str,
    skill: str,
    hour: int,
    shift: float = 0.0,
    silent: set[int] | frozenset[int] = frozenset(),
) -> list[int]:
    """The answers per score one agent's customers gave in one skill in the hour starting at
    `hour` (unix seconds): deterministic, a little different every hour."""
    if hour in silent:
        return [0] * 5
    given = csat_counts(agent, skill, 60, day=hour // 3600, shift=shift)
    return [given[f"csat_score{i}_answers"] for i in range(1, 6)]


def bucket_scores(scores: list[int], agent: str, skill: str, hour: int, index: int) -> list[int]:
    """Bucket `index` (0..11) of the hour's share of `scores`: each count spread over the
    hour's 12 buckets, the remainder in a run of buckets that starts where the hash says,
    so the 12 add up to the hour exactly."""
    offset = int(hashlib.sha256(f"{agent}:{skill}:{hour}".encode()).hexdigest()[:4], 16) % 12
    spot = (index - offset) % 12
    return [n // 12 + (1 if spot < n % 12 else 0) for n in scores]


def timeline_csat(
    agent: str,
    skill: str,
    start: float,
    now: float,
    shift: float = 0.0,
    silent: set[int] | frozenset[int] = frozenset(),
) -> list[int]:
    """The answers per score in the buckets that start from `start` (a bucket start) to
    `now`, the bucket `now` is in counted whole."""
    total = [0] * 5
    first, last = int(start), int(now) // BUCKET * BUCKET
    for hour in range(first - first % 3600, last + 1, 3600):
        scores = hour_scores(agent, skill, hour, shift, silent)
        inside = [j for j in range(12) if first <= hour + j * BUCKET <= last]
        if len(inside) == 12:
            parts = [scores]
        else:
            parts = [bucket_scores(scores, agent, skill, hour, j) for j in inside]
        for part in parts:
            total = [a + b for a, b in zip(total, part, strict=True)]
    return total


def timeline_states(
    agent: str, start: float, now: float, silent: set[int] | frozenset[int] = frozenset()
) -> list[dict[str, Any]]:
    """One agent's states over [start, now]: each hour's (`agent_states` salted by the
    hour) for the seconds of it inside, added up."""
    found: list[dict[str, Any]] = []
    hour = int(start) - int(start) % 3600
    while hour < now:
        seconds = int(min(now, hour + 3600) - max(start, hour))
        if seconds > 0 and hour not in silent:
            found = _add_activity(found, agent_states(agent, seconds, salt=hour))
        hour += 3600
    return found or _add_activity([], agent_states(agent, 0))


def _add_activity(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two answers' states added: by state id, and the away reasons by reason id."""
    if not a:
        return b

    def added(x: dict[str, int], y: dict[str, int]) -> dict[str, int]:
        return {k: x[k] + y[k] for k in x}

    out = []
    for mine, theirs in zip(a, b, strict=True):
        state = {**mine, "value": added(mine["value"], theirs["value"])}
        if "reasons" in mine:
            reasons = {r["id"]: r["value"] for r in mine["reasons"]}
            for r in theirs["reasons"]:
                reasons[r["id"]] = (
                    added(reasons[r["id"]], r["value"]) if r["id"] in reasons else r["value"]
                )
            state["reasons"] = [{"id": k, "value": v} for k, v in reasons.items()]
        out.append(state)
    return out

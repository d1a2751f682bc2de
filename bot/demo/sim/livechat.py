"""A simulated LiveChat license: the Reports API answering with the document's examples,
and the Configuration API's directories (list_agents, list_groups) that name their ids.

Every report answers with the example payload from LiveChat's Reports API document
(`livechat_examples.json`); ranking and performance keep only the agents asked for, and
ratings filtered by groups is scaled per group so a per-group breakdown shows. The agent
directory names every agent those examples mention. Tests swap in variants through
`answers`, `agents` and `groups`, refuse a directory through `refused_actions` (a token
without the scope), and inject faults through `fail()`.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

from bot.demo.sim.server import Call, LoopbackServer, Reply, reply

EXAMPLES: dict[str, Any] = json.loads(
    (Path(__file__).with_name("livechat_examples.json")).read_text(encoding="utf-8")
)


# every agent the examples' ranking and performance records mention, by email (LiveChat's id)
DIRECTORY_AGENTS: list[dict[str, Any]] = [
    {"id": "smith@example.com", "name": "John Smith", "role": "administrator",
     "login_status": "accepting chats", "job_title": "Support lead",
     "groups": [{"id": 0, "priority": "normal"}, {"id": 1, "priority": "first"}]},
    {"id": "agent@example.com", "name": "Agnès Dupont", "role": "normal",
     "login_status": "not accepting chats", "job_title": "Support agent",
     "groups": [{"id": 0, "priority": "normal"}, {"id": 2, "priority": "normal"}]},
]  # fmt: skip
DIRECTORY_GROUPS: list[dict[str, Any]] = [
    {"id": 0, "name": "General", "language_code": "en", "routing_status": "accepting_chats"},
    {"id": 1, "name": "Sales", "language_code": "en", "routing_status": "accepting_chats"},
    {"id": 2, "name": "Support", "language_code": "de", "routing_status": "not_accepting_chats"},
]
# the scope each Configuration API action needs; a token without it gets 403
SCOPES = {"list_agents": "agents--all:ro", "list_groups": "groups--all:ro"}
# ratings filtered by group: each group's share of the example's numbers (others: none).
# Group 1 keeps the whole example: end-to-end tests ask for "group 1" and expect it
GROUP_SHARE = {0: 1.0, 1: 0.6, 2: 0.4}  # how much of the license each group rates


def error(kind: str, message: str, **data: Any) -> dict[str, Any]:
    """LiveChat's error body."""
    body: dict[str, Any] = {"error": {"type": kind, "message": message}}
    if data:
        body["error"]["data"] = data
    return body


class SimulatedLiveChat(LoopbackServer):
    def __init__(self, token: str = "lc-demo-token", account_id: str = "lc-account") -> None:
        super().__init__()
        self.token = token
        self.account_id = account_id
        self.answers: dict[str, Any] = copy.deepcopy(EXAMPLES)
        self.agents: list[dict[str, Any]] = copy.deepcopy(DIRECTORY_AGENTS)
        self.groups: list[dict[str, Any]] = copy.deepcopy(DIRECTORY_GROUPS)
        self.refused_actions: set[str] = set()  # "list_agents", "list_groups": scope missing
        self.group_shares: dict[int, float] = dict(GROUP_SHARE)  # ratings per group

    def env(self, pat: bool = False) -> dict[str, str]:
        env = {"LIVECHAT_API_URL": self.url, "LIVECHAT_TOKEN": self.token}
        return env | ({"LIVECHAT_ACCOUNT_ID": self.account_id} if pat else {})

    def report_calls(self, report: str) -> list[Call]:
        return [c for c in self.calls if c.path.endswith(f"/{report}")]

    def _authorised(self, header: str) -> bool:
        if header == f"Bearer {self.token}":
            return True
        basic = base64.b64encode(f"{self.account_id}:{self.token}".encode()).decode()
        return header == f"Basic {basic}"

    def route(self, call: Call) -> Reply:
        parts = call.path.strip("/").split("/")
        if (
            len(parts) == 4
            and parts[0].startswith("v")
            and parts[1:3] == ["configuration", "action"]
        ):
            return self._configuration(call, parts[3])
        if len(parts) != 4 or parts[1] != "reports" or not parts[0].startswith("v"):
            return reply(404, error("not_found", "unknown path"))
        if not self._authorised(call.headers.get("authorization", "")):
            return reply(401, error("authentication", "Invalid access token"))
        kind, report = parts[2], parts[3]
        if report not in self.answers or kind not in ("chats", "agents"):
            return reply(404, error("not_found", f"unknown report {kind}/{report}"))
        try:
            body = call.json() if call.method == "POST" else {}
        except ValueError:
            return reply(400, error("validation", "body is not JSON"))
        answer = copy.deepcopy(self.answers[report])
        agents = ((body or {}).get("filters") or {}).get("agents", {}).get("values")
        if agents and report in ("ranking", "performance"):
            answer["records"] = {k: v for k, v in answer["records"].items() if k in agents}
        groups = ((body or {}).get("filters") or {}).get("groups", {}).get("values")
        if groups and isinstance(groups, list) and report == "ratings":
            answer = ratings_for_groups(answer, groups, self.group_shares)
        return reply(200, answer, {"Legacy": "false"})

    def _configuration(self, call: Call, action: str) -> Reply:
        """The Configuration API's list actions: the names behind report ids."""
        if not self._authorised(call.headers.get("authorization", "")):
            return reply(401, error("authentication", "Invalid access token"))
        if action not in SCOPES:
            return reply(404, error("not_found", f"unknown action {action}"))
        if call.method != "POST":
            return reply(405, error("validation", "use POST"))
        if action in self.refused_actions:
            message = f"The requested scope is missing: {SCOPES[action]}"
            return reply(403, error("authorization", message))
        try:
            body = dict(call.json() or {})
        except (ValueError, TypeError):
            return reply(400, error("validation", "body is not a JSON object"))
        fields = set(body.get("fields") or [])
        if action == "list_groups":
            extra = fields & {"routing_status", "agent_priorities"}
            return reply(200, [_group(g, self.agents, extra) for g in self.groups])
        wanted = ((body.get("filters") or {}).get("group_ids")) or None
        listed = []
        for agent in self.agents:
            if wanted is not None and not {g["id"] for g in agent["groups"]} & set(wanted):
                continue
            keep = {"id", "name", "role", "login_status"} | (fields & {"job_title", "groups"})
            listed.append({k: v for k, v in agent.items() if k in keep})
        return reply(200, listed)


def _group(group: dict[str, Any], agents: list[dict[str, Any]], extra: set[str]) -> dict[str, Any]:
    out = {k: group[k] for k in ("id", "name", "language_code")}
    if "routing_status" in extra:
        out["routing_status"] = group["routing_status"]
    if "agent_priorities" in extra:
        out["agent_priorities"] = {
            a["id"]: g["priority"] for a in agents for g in a["groups"] if g["id"] == group["id"]
        }
    return out


def ratings_for_groups(
    answer: dict[str, Any], groups: list[Any], group_shares: dict[int, float] = GROUP_SHARE
) -> dict[str, Any]:
    """The ratings report as if filtered to `groups`: each group's share of every day's
    good, bad and chats, rounded and summed, so a per-group breakdown differs by group."""
    shares = [group_shares.get(int(g), 0.0) for g in groups if str(g).lstrip("-").isdigit()]
    records = {
        day: {key: sum(round(n * share) for share in shares) for key, n in counts.items()}
        for day, counts in answer["records"].items()
    }
    total = sum(counts.get("chats", 0) for counts in records.values())
    return {**answer, "records": records, "total": total}

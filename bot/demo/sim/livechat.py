"""A simulated LiveChat license: the Reports API answering with the document's examples.

Every report answers with the example payload from LiveChat's Reports API document
(`livechat_examples.json`); ranking and performance keep only the agents asked for.
Tests swap in variants through `answers`, and faults through `fail()`.
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
        return reply(200, answer, {"Legacy": "false"})

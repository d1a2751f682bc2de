"""The simulated vendors' directory APIs: the shapes the bot's name lookups are written
against, and the awkward cases (deleted ids, shared nicknames, refused privileges) they
must survive. One simulator of each per module (stopping one waits out its 0.5 s poll);
what a test changes on it is put back after the test."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.demo.sim.livechat import DIRECTORY_AGENTS, EXAMPLES, GROUP_SHARE, SimulatedLiveChat
from bot.demo.sim.liveperson import (
    AGENT_NAMES,
    AGENTS,
    REASONS,
    SKILLS,
    SimulatedLivePerson,
)

DIRECTORIES = {
    "users": "le-users/users",
    "skills": "le-users/skills",
    "agentGroups": "le-users/agentGroups",
    "status-reasons": "le-agents/status-reasons",
}


@pytest.fixture(scope="module")
def lp_server() -> Iterator[SimulatedLivePerson]:
    with SimulatedLivePerson() as server:
        yield server


@pytest.fixture(scope="module")
def lc_server() -> Iterator[SimulatedLiveChat]:
    with SimulatedLiveChat() as server:
        yield server


@pytest.fixture
def lp(lp_server: SimulatedLivePerson) -> Iterator[SimulatedLivePerson]:
    yield lp_server
    lp_server.refused_collections = set()
    lp_server.directory_revision = 1
    lp_server.overrides.clear()
    lp_server.faults.clear()
    lp_server.calls.clear()


@pytest.fixture
def lc(lc_server: SimulatedLiveChat) -> Iterator[SimulatedLiveChat]:
    yield lc_server
    lc_server.refused_actions = set()
    lc_server.group_shares = dict(GROUP_SHARE)
    lc_server.faults.clear()
    lc_server.calls.clear()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def bearer(lp: SimulatedLivePerson, http: httpx.Client) -> dict[str, str]:
    answer = http.post(
        f"{lp.url}/sentinel/api/v2/account/{lp.account}/app/token",
        data={
            "grant_type": "client_credentials",
            "client_id": lp.client_id,
            "client_secret": lp.client_secret,
        },
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def get(
    lp: SimulatedLivePerson,
    http: httpx.Client,
    collection: str,
    headers: dict[str, str] | None = None,
    **params: str,
) -> httpx.Response:
    """A directory call the way the bot makes it: base URI from the Domain API first."""
    domain = http.get(
        f"{lp.url}/api/account/{lp.account}/service/accountConfigReadOnly/baseURI.json",
        params={"version": "1.0"},
    ).json()
    url = f"{domain['baseURI']}/api/account/{lp.account}/configuration/{DIRECTORIES[collection]}"
    return http.get(
        url, params=params, headers=headers if headers is not None else bearer(lp, http)
    )


# --- LivePerson -----------------------------------------------------------------------------


def test_users_name_every_agent_in_the_reports(lp: SimulatedLivePerson, http: httpx.Client) -> None:
    answer = get(lp, http, "users", v="4.0")
    assert answer.status_code == 200
    users = answer.json()
    every = {a for members in AGENTS.values() for a in members}
    assert {str(u["id"]) for u in users} == every  # numbers; reports key them as strings
    for user in users:
        assert isinstance(user["id"], int)
        assert user["isApiUser"] is False and user["deleted"] is False and user["isEnabled"]
        assert (user["nickname"], user["fullName"], user["loginName"]) == AGENT_NAMES[
            str(user["id"])
        ]
        assert all(isinstance(s, int) and s != -1 for s in user["skillIds"])
        assert user["email"].endswith("@example.com") and user["employeeId"]
    by_id = {u["id"]: u for u in users}
    assert by_id[1002]["nickname"] == "Zoë"
    assert by_id[1004]["nickname"] == by_id[1009]["nickname"] == "Sam"
    assert by_id[1011]["nickname"] == "" and by_id[1011]["fullName"]
    assert by_id[1001]["memberOf"] == {
        "agentGroupId": 2001,
        "assignmentDate": "2023-02-22 09:41:00",
    }
    assert "memberOf" not in by_id[1012]  # in no group: LivePerson leaves it out
    assert sorted(by_id[1004]["skillIds"]) == [12]


def test_deleted_users_and_skills_only_when_asked(
    lp: SimulatedLivePerson, http: httpx.Client
) -> None:
    users = get(lp, http, "users", include_deleted="true").json()
    gone = [u for u in users if u["deleted"]]
    assert [(u["id"], u["nickname"], u["isEnabled"]) for u in gone] == [(1013, "Tom", False)]
    skills = get(lp, http, "skills").json()
    assert [s["id"] for s in skills] == [11, 12, 13, 14]  # never -1
    assert skills[0] == {
        "id": 11,
        "name": "Billing",
        "description": skills[0]["description"],
        "deleted": False,
        "skillOrder": 1,
    }
    assert {str(s["id"]): s["name"] for s in skills} == {
        k: v for k, v in SKILLS.items() if k != "-1"
    }
    with_deleted = get(lp, http, "skills", include_deleted="true").json()
    assert [(s["id"], s["name"], s["deleted"]) for s in with_deleted[4:]] == [
        (15, "Old promo", True)
    ]


def test_groups_and_status_reasons(lp: SimulatedLivePerson, http: httpx.Client) -> None:
    groups = get(lp, http, "agentGroups").json()
    assert groups[0] == {
        "id": "2001",
        "name": "Team North",
        "parentGroupId": -1,
        "isEnabled": True,
        "deleted": False,
    }
    assert all(isinstance(g["id"], str) for g in groups) and 2 <= len(groups) <= 3
    reasons = get(lp, http, "status-reasons", v="1.0").json()
    assert [r["id"] for r in reasons] == [int(r) for r in REASONS]
    assert [(r["text"], r["state"], r["enabled"], r["deleted"]) for r in reasons] == [
        ("Lunch", "Away", True, False),
        ("Coaching", "Away", True, False),
    ]


@pytest.mark.parametrize(
    ("collection", "header"),
    [
        ("users", "etag"),
        ("skills", "etag"),
        ("agentGroups", "etag"),
        ("status-reasons", "ac-revision"),
    ],
)
def test_revisions_answer_304_when_unchanged(
    lp: SimulatedLivePerson, http: httpx.Client, collection: str, header: str
) -> None:
    first = get(lp, http, collection)
    revision = first.headers[header]
    assert revision == get(lp, http, collection).headers[header]  # stable
    auth = bearer(lp, http)
    same = get(lp, http, collection, {**auth, "If-None-Match": revision})
    assert (same.status_code, same.content, same.headers[header]) == (304, b"", revision)
    lp.directory_revision += 1
    changed = get(lp, http, collection, {**auth, "If-None-Match": revision})
    assert changed.status_code == 200 and changed.headers[header] != revision
    assert changed.json() == first.json()


def test_refused_collections_and_bad_tokens(lp: SimulatedLivePerson, http: httpx.Client) -> None:
    lp.refused_collections = {"users", "status-reasons"}
    assert get(lp, http, "users").status_code == 403
    refused = get(lp, http, "status-reasons")
    assert (refused.status_code, refused.json()) == (403, {"error": "Missing privilege"})
    assert get(lp, http, "skills").status_code == 200  # only that collection
    anonymous = get(lp, http, "skills", {})
    assert (anonymous.status_code, anonymous.json()) == (401, {"error": "Unauthorized"})
    assert get(lp, http, "skills", {"Authorization": "Bearer not-issued"}).status_code == 401
    assert len(lp.calls_to("/configuration/le-users/skills")) == 3


def test_overrides_and_faults_reach_directories(
    lp: SimulatedLivePerson, http: httpx.Client
) -> None:
    before = get(lp, http, "agentGroups").headers["etag"]
    lp.overrides["le-users/agentGroups"] = [{"id": "9", "name": "Renamed", "deleted": False}]
    swapped = get(lp, http, "agentGroups")
    assert swapped.json() == [{"id": "9", "name": "Renamed", "deleted": False}]
    assert swapped.headers["etag"] != before  # a changed collection has a new revision
    lp.fail("/le-users/users", status=429, body={"error": "Too Many Requests"})
    assert get(lp, http, "users").status_code == 429
    assert get(lp, http, "users").status_code == 200


# --- LiveChat -------------------------------------------------------------------------------


def action(
    lc: SimulatedLiveChat,
    http: httpx.Client,
    name: str,
    body: dict[str, Any] | None = None,
    auth: str | None = None,
) -> httpx.Response:
    return http.post(
        f"{lc.url}/v3.6/configuration/action/{name}",
        json=body or {},
        headers={"Authorization": auth if auth is not None else f"Bearer {lc.token}"},
    )


def test_list_agents_names_every_agent_in_the_examples(
    lc: SimulatedLiveChat, http: httpx.Client
) -> None:
    in_reports = set(EXAMPLES["ranking"]["records"]) | set(EXAMPLES["performance"]["records"])
    answer = action(lc, http, "list_agents")
    assert answer.status_code == 200
    agents = answer.json()
    assert {a["id"] for a in agents} == in_reports
    assert agents[0] == {
        "id": "smith@example.com",
        "name": "John Smith",
        "role": "administrator",
        "login_status": "accepting chats",
    }
    assert agents[1]["name"] == "Agnès Dupont"
    with_groups = action(lc, http, "list_agents", {"fields": ["groups", "job_title"]}).json()
    assert with_groups == DIRECTORY_AGENTS
    sales = action(lc, http, "list_agents", {"filters": {"group_ids": [1]}}).json()
    assert [a["id"] for a in sales] == ["smith@example.com"]


def test_list_groups_and_auth(lc: SimulatedLiveChat, http: httpx.Client) -> None:
    groups = action(lc, http, "list_groups").json()
    assert groups == [
        {"id": 0, "name": "General", "language_code": "en"},
        {"id": 1, "name": "Sales", "language_code": "en"},
        {"id": 2, "name": "Support", "language_code": "de"},
    ]
    pat = base64.b64encode(f"{lc.account_id}:{lc.token}".encode()).decode()
    assert action(lc, http, "list_groups", auth=f"Basic {pat}").json() == groups
    wrong = action(lc, http, "list_groups", auth="Bearer wrong")
    assert (wrong.status_code, wrong.json()["error"]["type"]) == (401, "authentication")
    assert action(lc, http, "list_nothing").status_code == 404


@pytest.mark.parametrize(
    ("refused", "scope"), [("list_agents", "agents--all:ro"), ("list_groups", "groups--all:ro")]
)
def test_refused_actions_name_the_missing_scope(
    lc: SimulatedLiveChat, http: httpx.Client, refused: str, scope: str
) -> None:
    lc.refused_actions = {refused}
    answer = action(lc, http, refused)
    assert answer.status_code == 403
    assert answer.json() == {
        "error": {"type": "authorization", "message": f"The requested scope is missing: {scope}"}
    }
    other = "list_groups" if refused == "list_agents" else "list_agents"
    assert action(lc, http, other).status_code == 200


def ratings(lc: SimulatedLiveChat, http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(
        f"{lc.url}/v3.6/reports/chats/ratings",
        json=body,
        headers={"Authorization": f"Bearer {lc.token}"},
    )
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def test_ratings_per_group(lc: SimulatedLiveChat, http: httpx.Client) -> None:
    example = EXAMPLES["ratings"]
    assert ratings(lc, http, {"distribution": "day"}) == example  # unfiltered: as before

    def group(*ids: int) -> dict[str, Any]:
        return ratings(lc, http, {"filters": {"groups": {"values": list(ids)}}})

    assert group(0) == example  # General: every chat
    support = group(2)
    assert support["records"]["2021-04-09"] == {"bad": 3, "chats": 9, "good": 4}  # ×0.4
    assert support["records"]["2021-04-12"] == {} and "good" not in support["records"]["2021-04-11"]
    assert support["total"] == sum(c.get("chats", 0) for c in support["records"].values()) == 33
    sales = group(1)
    assert sales["records"]["2021-04-09"] == {"bad": 5, "chats": 14, "good": 6}  # ×0.6
    both = group(1, 2)
    for day, counts in both["records"].items():
        assert counts == {k: sales["records"][day][k] + support["records"][day][k] for k in counts}
    assert both["total"] == sales["total"] + support["total"]
    assert group(7) == {
        **example,
        "total": 0,
        "records": {d: {k: 0 for k in c} for d, c in example["records"].items()},
    }

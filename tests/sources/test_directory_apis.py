"""The vendors' directory APIs: parsing the documented shapes, and reading them over
httpx.MockTransport (LivePerson's Account Configuration API, LiveChat's Configuration API).

The shapes are those of /work/shared/reference/names-apis.md: ids as numbers (groups' as
strings in LivePerson's examples), agents named by nickname, then full name, then login
name, status reasons by `text` (or `name`), LiveChat agents by e-mail address.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.config import LiveChatSettings, LivePersonSettings
from bot.demo.sim.livechat import error
from bot.directory import LONGEST_NAME, Collection, Entry
from bot.errors import VendorBadResponse
from bot.sources import livechat as lc
from bot.sources import liveperson as lp
from bot.sources.http import BucketCache, RetryPolicy, VendorHTTP
from bot.sources.livechat import LiveChat
from bot.sources.liveperson import LivePerson
from tests.fakes.clock import FakeClock, no_retry
from tests.sources.test_livechat import FakeLiveChat
from tests.sources.test_liveperson import OAUTH2, FakeLivePerson

E = Entry

# --- LivePerson: parse_directory ---------------------------------------------------------

USERS = [
    {
        "id": 1001,
        "nickname": "Sam",
        "fullName": "Samuel Ortiz",
        "loginName": "sortiz",
        "deleted": False,
        "isEnabled": True,
        "isApiUser": False,
        "skillIds": [4, 15],
        "memberOf": {"agentGroupId": "7", "assignmentDate": "2025-01-06 09:00:00"},
        "managerOf": [],
        "employeeId": "E-17",
        "email": "sam@example.com",
    },
    {  # no nickname: the full name; memberOf as the appendix's array
        "id": 1002,
        "nickname": "",
        "fullName": "Ana Lima",
        "loginName": "alima",
        "memberOf": [{"agentGroupId": 7, "assignmentDate": "2025-01-06 09:00:00"}],
    },
    {  # id as a string, blank nickname and full name, left: the login name
        "id": "1003",
        "nickname": "  ",
        "fullName": "",
        "loginName": "jsmith",
        "deleted": True,
    },
    {"id": 1004, "nickname": None, "fullName": "  Zoë Martin  "},  # trimmed
    {"id": 1005, "nickname": "", "fullName": "", "loginName": ""},  # no name at all
    {"id": 1006},  # no name keys
    {"nickname": "Ghost", "fullName": "No Id"},  # no id
    {"id": "", "nickname": "Blank id"},
    {"id": "  ", "nickname": "Blank id"},
    {"id": None, "nickname": "Null id"},
    {"id": True, "nickname": "Boolean id"},
    {"id": 10.5, "nickname": "Fraction id"},
    {"id": [1007], "nickname": "List id"},
    {"id": 1008, "nickname": 42, "fullName": "Numeric Nick"},  # a name must be text
    "1009",
    1010,
    None,
    ["id", 1011],
]
USER_ENTRIES = (
    E("agent", "1001", "Sam"),
    E("agent", "1002", "Ana Lima"),
    E("agent", "1003", "jsmith", deleted=True),
    E("agent", "1004", "Zoë Martin"),
    E("agent", "1008", "Numeric Nick"),
)
SKILLS = [
    {"id": 4, "name": "Billing", "description": "", "deleted": False, "skillOrder": 1},
    {"id": 15, "name": "Tech Support", "description": "Level 1"},
    {"id": 20, "name": "Retention", "deleted": True},
    {"id": 21, "name": "Returns", "deleted": "true"},  # only JSON true means deleted
    {"id": 22, "name": ""},
    {"id": 23, "description": "no name"},
]
SKILL_ENTRIES = (
    E("skill", "4", "Billing"),
    E("skill", "15", "Tech Support"),
    E("skill", "20", "Retention", deleted=True),
    E("skill", "21", "Returns"),
)
GROUPS = [
    {"id": "7", "name": "Billing team", "parentGroupId": "-1", "isEnabled": True},
    {"id": -1, "name": "Main Group", "deleted": False},
    {"id": 0, "name": "Zero"},  # a falsy id is still an id
    {"id": " 8 ", "name": " VIP ", "deleted": True},
]
GROUP_ENTRIES = (
    E("group", "7", "Billing team"),
    E("group", "-1", "Main Group"),
    E("group", "0", "Zero"),
    E("group", "8", "VIP", deleted=True),
)
REASONS = [  # LivePerson's own example, then the overview table's `name`
    {"text": "some reason text", "state": "Away", "enabled": True, "id": 725987312,
     "deleted": False},
    {"text": "another reason text", "state": "Away", "enabled": True, "id": 725987412,
     "deleted": False},
    {"name": "Lunch", "state": "Away", "id": 725987512},
    {"text": "", "name": "Training", "id": 725987612, "deleted": True},
    {"text": "Coaching", "name": "ignored", "id": "725987712"},
    {"state": "Away", "id": 725987812},
]  # fmt: skip
REASON_ENTRIES = (
    E("reason", "725987312", "some reason text"),
    E("reason", "725987412", "another reason text"),
    E("reason", "725987512", "Lunch"),
    E("reason", "725987612", "Training", deleted=True),
    E("reason", "725987712", "Coaching"),
)


@pytest.mark.parametrize(
    ("kind", "body", "entries"),
    [
        pytest.param("agent", USERS, USER_ENTRIES, id="users"),
        pytest.param("skill", SKILLS, SKILL_ENTRIES, id="skills"),
        pytest.param("group", GROUPS, GROUP_ENTRIES, id="agent-groups"),
        pytest.param("reason", REASONS, REASON_ENTRIES, id="status-reasons"),
        pytest.param("agent", [], (), id="empty"),
        pytest.param("skill", [None, 1, "x", [], {}], (), id="nothing-usable"),
    ],
)
def test_liveperson_parse_directory(kind: str, body: Any, entries: tuple[Entry, ...]) -> None:
    assert lp.parse_directory(kind, body) == entries


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param({"nickname": "N", "fullName": "F", "loginName": "L"}, "N", id="nickname"),
        pytest.param({"fullName": "F", "loginName": "L"}, "F", id="no-nickname"),
        pytest.param({"nickname": "", "fullName": "F", "loginName": "L"}, "F", id="empty-nick"),
        pytest.param({"nickname": " ", "fullName": "", "loginName": "L"}, "L", id="login"),
        pytest.param({"nickname": None, "loginName": " L "}, "L", id="login-trimmed"),
        pytest.param({"nickname": "", "fullName": " ", "loginName": ""}, None, id="none"),
    ],
)
def test_liveperson_agent_name_fallback(names: dict[str, Any], expected: str | None) -> None:
    found = lp.parse_directory("agent", [{"id": 5, **names}])
    assert [e.name for e in found] == ([expected] if expected else [])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="object"),
        pytest.param({"users": USERS}, id="wrapped"),
        pytest.param(None, id="null"),
        pytest.param("[]", id="string"),
        pytest.param(7, id="number"),
    ],
)
@pytest.mark.parametrize(
    ("parse", "vendor"),
    [
        pytest.param(lp.parse_directory, "LivePerson", id="liveperson"),
        pytest.param(lc.parse_directory, "LiveChat", id="livechat"),
    ],
)
def test_a_body_that_is_not_a_list_is_a_bad_response(
    parse: Callable[[str, Any], tuple[Entry, ...]], vendor: str, body: Any
) -> None:
    with pytest.raises(VendorBadResponse) as caught:
        parse("agent", body)
    assert caught.value.vendor == vendor
    assert "agent" in caught.value.detail
    assert "JSON array" in caught.value.detail


@pytest.mark.parametrize(
    ("parse", "item", "kind"),
    [
        pytest.param(lp.parse_directory, {"id": 5, "nickname": "N"}, "agent", id="liveperson"),
        pytest.param(lc.parse_directory, {"id": "n@example.com", "name": "N"}, "agent",
                     id="livechat"),
        pytest.param(lc.parse_directory, {"id": 1, "name": "N"}, "group", id="livechat-group"),
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    ("name", "kept"),
    [
        pytest.param("y" * (LONGEST_NAME + 1), "y" * LONGEST_NAME, id="cut"),
        pytest.param(json.loads('"Jo \\ud83d Smith"'), "Jo \ufffd Smith", id="half-an-emoji"),
        pytest.param("Zoë 😀", "Zoë 😀", id="whole-emoji-kept"),
    ],
)
def test_names_are_kept_storable(
    parse: Callable[[str, Any], tuple[Entry, ...]],
    item: dict[str, Any],
    kind: str,
    name: str,
    kept: str,
) -> None:
    key = "nickname" if "nickname" in item else "name"
    [entry] = parse(kind, [{**item, key: name}])
    assert entry.name == kept


# --- LiveChat: parse_directory -----------------------------------------------------------

LC_AGENTS = [
    {"id": "Smith@Example.com", "name": "Smith", "role": "viceowner",
     "login_status": "accepting chats", "job_title": "Support", "groups": [{"id": 0,
     "priority": "normal"}]},
    {"id": "agent@example.com", "name": "  Agent Smith  ", "role": "normal"},
    {"id": "nameless@example.com", "name": ""},
    {"id": "blank@example.com", "name": "   "},
    {"id": "numeric@example.com", "name": 7},
    {"name": "No Id"},
    {"id": "", "name": "Blank Id"},
    {"id": False, "name": "Boolean Id"},
    "smith@example.com",
    None,
]  # fmt: skip
LC_GROUPS = [
    {"id": 0, "name": "General", "language_code": "en", "routing_status": "accepting_chats"},
    {"id": "1", "name": "Sales", "language_code": "de"},
    {"id": 2, "name": "VIP Support"},
    {"id": 3},
    {"id": True, "name": "Boolean"},
]
LC_AGENT_ENTRIES = (
    E("agent", "smith@example.com", "Smith"),
    E("agent", "agent@example.com", "Agent Smith"),
)
LC_GROUP_ENTRIES = (
    E("group", "0", "General"),
    E("group", "1", "Sales"),
    E("group", "2", "VIP Support"),
)


@pytest.mark.parametrize(
    ("kind", "body", "entries"),
    [
        pytest.param("agent", LC_AGENTS, LC_AGENT_ENTRIES, id="agents-ids-lower-cased"),
        pytest.param("group", LC_GROUPS, LC_GROUP_ENTRIES, id="groups-zero-is-general"),
        pytest.param(
            "group", [{"id": "ABC", "name": "X"}], (E("group", "ABC", "X"),), id="group-id-kept"
        ),
        pytest.param("agent", [], (), id="empty"),
    ],
)
def test_livechat_parse_directory(kind: str, body: Any, entries: tuple[Entry, ...]) -> None:
    assert lc.parse_directory(kind, body) == entries


def test_livechat_entries_are_never_deleted() -> None:
    found = lc.parse_directory("agent", [{"id": "a@example.com", "name": "A", "deleted": True}])
    assert found == (E("agent", "a@example.com", "A"),)


# --- LivePerson: reading the Account Configuration API -----------------------------------

DOMAIN = "https://api.liveperson.net/api/account/123/service"
CONFIG = "https://va.ac.liveperson.net/api/account/123/configuration"
PATHS = {  # collection -> its path, version and revision header
    "users": ("le-users/users", "4.0", "eTag"),
    "skills": ("le-users/skills", "4.0", "eTag"),
    "agentGroups": ("le-users/agentGroups", "4.0", "eTag"),
    "status-reasons": ("le-agents/status-reasons", "1.0", "ac-revision"),
}
BODIES = {"users": USERS, "skills": SKILLS, "agentGroups": GROUPS, "status-reasons": REASONS}
ENTRIES = {
    "users": USER_ENTRIES,
    "skills": SKILL_ENTRIES,
    "agentGroups": GROUP_ENTRIES,
    "status-reasons": REASON_ENTRIES,
}
KINDS = {"users": "agent", "skills": "skill", "agentGroups": "group", "status-reasons": "reason"}
GRANTS = {
    "users": 'the "Users" read privilege',
    "skills": 'the "Skills" read privilege',
    "agentGroups": 'the "Agent Groups" read privilege',
    "status-reasons": 'the "Agent Status Reason" read privilege',
}
REVISIONS = {"users": '"u-1"', "skills": '"s-1"', "agentGroups": '"g-1"', "status-reasons": "r-1"}


@dataclass
class FakeAccountConfig(FakeLivePerson):
    """The four collections from memory, beside the Domain API and sentinel of the
    LivePerson fake the reports' tests use.

    `statuses` are answered (per collection) before any 200; `honour` says whether a known
    revision in If-None-Match gets a 304 (LivePerson documents none); `domain` answers the
    accountConfigReadOnly look-up first.
    """

    hosts: dict[str, str] = field(
        default_factory=lambda: {
            "sentinel": "va.sentinel.liveperson.net",
            lp.ACCOUNT_CONFIG: "va.ac.liveperson.net",
        }
    )
    bodies: dict[str, Any] = field(default_factory=lambda: dict(BODIES))
    revisions: dict[str, str] = field(default_factory=lambda: dict(REVISIONS))
    statuses: dict[str, list[int]] = field(default_factory=dict)
    garbage: set[str] = field(default_factory=set)  # collections answered with non-JSON
    honour: bool = True
    domain: list[httpx.Response] = field(default_factory=list)  # accountConfigReadOnly first

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith(f"/{lp.ACCOUNT_CONFIG}/baseURI.json") and self.domain:
            self.requests.append(request)
            return self.domain.pop(0)
        for name, (ending, _, header) in PATHS.items():
            if path.endswith(f"/configuration/{ending}"):
                self.requests.append(request)
                queue = self.statuses.get(name)
                if queue:
                    return httpx.Response(queue.pop(0), json={"error": "Missing privilege"})
                headers = {header: self.revisions[name]}
                if self.honour and request.headers.get("if-none-match") == self.revisions[name]:
                    return httpx.Response(304, headers=headers)
                if name in self.garbage:
                    return httpx.Response(200, text="<html>maintenance</html>", headers=headers)
                return httpx.Response(200, json=self.bodies[name], headers=headers)
        return super().__call__(request)  # the Domain API, sentinel

    def to(self, name: str) -> list[httpx.Request]:
        ending = f"/configuration/{PATHS[name][0]}"
        return [r for r in self.requests if r.url.path.endswith(ending)]

    def domain_lookups(self, service: str) -> int:
        return sum(r.url.path.endswith(f"/{service}/baseURI.json") for r in self.requests)


def liveperson(
    vendor: FakeAccountConfig,
    settings: LivePersonSettings = OAUTH2,
    clock: FakeClock | None = None,
    policy: RetryPolicy | None = None,
) -> LivePerson:
    clock = clock or FakeClock()
    client = httpx.AsyncClient(transport=httpx.MockTransport(vendor))
    http = VendorHTTP("LivePerson", client, policy=policy, sleep=clock.sleep)
    return LivePerson(settings, http, BucketCache(clock), clock)


def by_name(collections: list[Collection]) -> dict[str, Collection]:
    return {c.name: c for c in collections}


def ok(name: str, revision: str | None = None) -> Collection:
    return Collection(
        "liveperson", name, KINDS[name], "ok", ENTRIES[name], revision or REVISIONS[name]
    )


def unchanged(name: str) -> Collection:
    return Collection("liveperson", name, KINDS[name], "unchanged", revision=REVISIONS[name])


@pytest.mark.anyio
async def test_liveperson_reads_the_four_collections() -> None:
    vendor = FakeAccountConfig()
    collections = await liveperson(vendor).directory({})
    assert collections == [ok(name) for name in PATHS]  # in DIRECTORY's order
    assert [c.name for c in collections] == [c[0] for c in lp.DIRECTORY]
    for name, (ending, version, _) in PATHS.items():
        [request] = vendor.to(name)
        assert request.method == "GET"
        assert str(request.url).startswith(f"{CONFIG}/{ending}?")
        assert dict(request.url.params) == {
            "v": version,
            "include_deleted": "true",
            "select": "$all",
        }
        assert "if-none-match" not in request.headers
        assert request.headers["authorization"] == "Bearer tok-1"
    assert vendor.domain_lookups(lp.ACCOUNT_CONFIG) == 1
    assert f"{DOMAIN}/{lp.ACCOUNT_CONFIG}/baseURI.json?version=1.0" in [
        str(r.url) for r in vendor.requests
    ]
    assert vendor.tokens == 1  # one token for the four calls made together


@pytest.mark.anyio
async def test_liveperson_status_reasons_keep_ac_revision() -> None:
    vendor = FakeAccountConfig(revisions={**REVISIONS, "status-reasons": "ac-42"})
    reasons = by_name(await liveperson(vendor).directory({}))["status-reasons"]
    assert reasons.status == "ok"
    assert reasons.revision == "ac-42"
    assert reasons.entries == REASON_ENTRIES


@pytest.mark.anyio
async def test_liveperson_known_revisions_are_sent_and_304_is_unchanged() -> None:
    vendor = FakeAccountConfig()
    known = {"users": REVISIONS["users"], "status-reasons": REVISIONS["status-reasons"]}
    collections = by_name(await liveperson(vendor).directory(known))
    assert collections == {
        "users": unchanged("users"),
        "skills": ok("skills"),
        "agentGroups": ok("agentGroups"),
        "status-reasons": unchanged("status-reasons"),
    }
    assert vendor.to("users")[0].headers["if-none-match"] == '"u-1"'
    assert vendor.to("status-reasons")[0].headers["if-none-match"] == "r-1"
    assert "if-none-match" not in vendor.to("skills")[0].headers


@pytest.mark.anyio
async def test_liveperson_same_revision_in_a_200_is_unchanged() -> None:
    vendor = FakeAccountConfig(honour=False)  # answers in full whatever it is sent
    known = {"users": REVISIONS["users"], "skills": '"s-0"'}
    collections = by_name(await liveperson(vendor).directory(known))
    assert collections["users"] == unchanged("users")
    assert collections["skills"] == ok("skills")  # a new revision: read, and kept
    assert collections["skills"].revision == '"s-1"'
    assert vendor.to("skills")[0].headers["if-none-match"] == '"s-0"'


@pytest.mark.anyio
@pytest.mark.parametrize("refused", list(PATHS))
async def test_liveperson_403_refuses_one_collection_and_reads_the_others(refused: str) -> None:
    vendor = FakeAccountConfig(statuses={refused: [403]})
    collections = by_name(await liveperson(vendor).directory({}))
    assert collections[refused] == Collection(
        "liveperson", refused, KINDS[refused], "refused", detail="HTTP 403", grant=GRANTS[refused]
    )
    assert {n: c for n, c in collections.items() if n != refused} == {
        n: ok(n) for n in PATHS if n != refused
    }
    assert vendor.tokens == 1  # a 403 is not the token's fault


@pytest.mark.anyio
async def test_liveperson_401_tries_a_new_token_then_refuses() -> None:
    vendor = FakeAccountConfig(statuses={"skills": [401, 401]})
    collections = by_name(await liveperson(vendor).directory({}))
    assert collections["skills"].status == "refused"
    assert collections["skills"].grant == GRANTS["skills"]
    assert collections["skills"].entries == ()
    assert len(vendor.to("skills")) == 2
    assert vendor.tokens == 2
    assert [c.status for n, c in collections.items() if n != "skills"] == ["ok"] * 3


@pytest.mark.anyio
async def test_liveperson_401_once_then_a_new_token_reads() -> None:
    vendor = FakeAccountConfig(statuses={"users": [401]})
    collections = by_name(await liveperson(vendor).directory({}))
    assert collections["users"] == ok("users")
    assert vendor.to("users")[-1].headers["authorization"] == "Bearer tok-2"


@pytest.mark.anyio
async def test_liveperson_a_500_storm_fails_one_collection() -> None:
    clock = FakeClock()
    vendor = FakeAccountConfig(statuses={"agentGroups": [500, 502, 503]})
    collections = by_name(await liveperson(vendor, clock=clock).directory({}))
    failed = collections["agentGroups"]
    assert (failed.status, failed.entries, failed.revision) == ("failed", (), None)
    assert failed.detail == "HTTP 503 after 3 tries"
    assert len(vendor.to("agentGroups")) == 3
    assert clock.sleeps == [0.5, 1.0]  # the policy's back-off, on the fake clock
    assert [c.status for n, c in collections.items() if n != "agentGroups"] == ["ok"] * 3


@pytest.mark.anyio
async def test_liveperson_500_without_retries() -> None:
    vendor = FakeAccountConfig(statuses={"users": [500]})
    source = liveperson(vendor, policy=RetryPolicy(attempts=1))
    users = by_name(await source.directory({}))["users"]
    assert (users.status, users.detail) == ("failed", "HTTP 500 after 1 tries")


@pytest.mark.anyio
async def test_liveperson_garbage_fails_one_collection() -> None:
    vendor = FakeAccountConfig(garbage={"skills"})
    collections = by_name(await liveperson(vendor).directory({}))
    assert collections["skills"].status == "failed"
    assert collections["skills"].detail.startswith("not JSON: <html>maintenance")
    assert collections["skills"].grant == GRANTS["skills"]  # said only if refused
    assert collections["users"] == ok("users")


@pytest.mark.anyio
async def test_liveperson_an_object_instead_of_a_list_fails_one_collection() -> None:
    vendor = FakeAccountConfig()
    vendor.bodies["status-reasons"] = {"error": "not a list"}
    reasons = by_name(await liveperson(vendor).directory({}))["status-reasons"]
    assert reasons.status == "failed"
    assert reasons.detail == "the reason directory is not a JSON array"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answers", "detail"),
    [
        pytest.param(
            [httpx.Response(500) for _ in range(3)], "HTTP 500 after 3 tries", id="500-storm"
        ),
        pytest.param(
            [httpx.Response(200, json={})],
            f"Domain API gave no host for {lp.ACCOUNT_CONFIG}",
            id="no-host",
        ),
        pytest.param([httpx.Response(200, text="oops")], "not JSON: oops", id="garbage"),
        pytest.param([httpx.Response(404, text="no such account")], "HTTP 404: no such account",
                     id="404"),
    ],
)  # fmt: skip
async def test_liveperson_domain_api_failure_fails_all_four(
    answers: list[httpx.Response], detail: str
) -> None:
    vendor = FakeAccountConfig(domain=list(answers))
    collections = await liveperson(vendor).directory({})
    assert [(c.name, c.kind, c.status, c.detail) for c in collections] == [
        (name, KINDS[name], "failed", detail) for name in PATHS
    ]
    assert all(c.entries == () for c in collections)
    assert not any(vendor.to(name) for name in PATHS)
    assert vendor.tokens == 0


@pytest.mark.anyio
async def test_liveperson_domain_api_refusal_fails_all_four() -> None:
    vendor = FakeAccountConfig(domain=[httpx.Response(403, text="Forbidden")])
    collections = await liveperson(vendor).directory({})
    assert [c.status for c in collections] == ["failed"] * 4


@pytest.mark.anyio
async def test_liveperson_sentinel_refusing_the_token_fails_all_four() -> None:
    vendor = FakeAccountConfig(token_status=401)
    collections = await liveperson(vendor).directory({})
    assert [c.status for c in collections] == ["failed"] * 4  # no privilege would help
    assert all("sentinel" in c.detail for c in collections)
    assert not any(vendor.to(name) for name in PATHS)


@pytest.mark.anyio
async def test_liveperson_account_config_url_skips_the_domain_api() -> None:
    settings = LivePersonSettings(
        "123",
        client_id="cid",
        client_secret="csecret",
        sentinel_url="http://127.0.0.1:9002",
        account_config_url="http://127.0.0.1:9003",
    )
    vendor = FakeAccountConfig()
    collections = await liveperson(vendor, settings).directory({})
    assert [c.status for c in collections] == ["ok"] * 4
    assert vendor.domain_lookups(lp.ACCOUNT_CONFIG) == 0
    assert vendor.domain_lookups("sentinel") == 0
    assert str(vendor.to("users")[0].url) == (
        "http://127.0.0.1:9003/api/account/123/configuration/le-users/users"
        "?v=4.0&include_deleted=true&select=%24all"
    )
    assert all(r.url.host == "127.0.0.1" for r in vendor.requests)


@pytest.mark.anyio
async def test_liveperson_host_looked_up_once_across_reads() -> None:
    vendor = FakeAccountConfig()
    source = liveperson(vendor)
    await source.directory({})
    second = await source.directory(REVISIONS)
    assert [c.status for c in second] == ["unchanged"] * 4
    assert vendor.domain_lookups(lp.ACCOUNT_CONFIG) == 1
    assert vendor.tokens == 1


# --- LiveChat: reading the Configuration API ------------------------------------------------

LC_API = "https://api.livechatinc.com/v3.6/configuration/action"
BEARER = LiveChatSettings("lc-token")
PAT = LiveChatSettings("lc-pat", account_id="acc-123")
SCOPES = {"list_agents": "the agents--all:ro scope", "list_groups": "the groups--all:ro scope"}


@dataclass
class FakeConfiguration(FakeLiveChat):
    """LiveChat's list actions from memory: the Reports API's fake, answering the lists."""

    answers: dict[str, Any] = field(
        default_factory=lambda: {"list_agents": LC_AGENTS, "list_groups": LC_GROUPS}
    )


def livechat(
    vendor: FakeConfiguration,
    settings: LiveChatSettings = BEARER,
    clock: FakeClock | None = None,
) -> LiveChat:
    clock = clock or FakeClock()
    http = VendorHTTP(
        "LiveChat",
        httpx.AsyncClient(transport=httpx.MockTransport(vendor)),
        sleep=clock.sleep,
        describe=lc.describe_error,
    )
    return LiveChat(settings, http, BucketCache(clock), clock)


def scope_missing(action: str) -> httpx.Response:
    scope = "agents--all:ro" if action == "list_agents" else "groups--all:ro"
    return httpx.Response(
        403, json=error("authorization", f"The requested scope is missing: {scope}")
    )


def lc_revision(entries: tuple[Entry, ...]) -> str:
    """The revision the bot makes of a list LiveChat gives none for: what it holds."""
    return hashlib.sha256(repr(sorted(entries)).encode()).hexdigest()[:20]


LC_OK = {  # present agents and groups only: lists that cannot call an id unknown
    "list_agents": Collection("livechat", "list_agents", "agent", "ok", LC_AGENT_ENTRIES,
                              lc_revision(LC_AGENT_ENTRIES), whole=False),
    "list_groups": Collection("livechat", "list_groups", "group", "ok", LC_GROUP_ENTRIES,
                              lc_revision(LC_GROUP_ENTRIES), whole=False),
}  # fmt: skip


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("settings", "authorization"),
    [
        pytest.param(BEARER, "Bearer lc-token", id="bearer"),
        pytest.param(PAT, "Basic YWNjLTEyMzpsYy1wYXQ=", id="personal-access-token"),
    ],
)
async def test_livechat_reads_agents_and_groups(
    settings: LiveChatSettings, authorization: str
) -> None:
    vendor = FakeConfiguration()
    collections = await livechat(vendor, settings).directory({})
    assert collections == [LC_OK["list_agents"], LC_OK["list_groups"]]
    for action in ("list_agents", "list_groups"):
        [request] = vendor.to(action)
        assert (request.method, str(request.url)) == ("POST", f"{LC_API}/{action}")
        assert json.loads(request.content) == {}
        assert request.headers["authorization"] == authorization
        assert request.headers["x-api-version"] == "3.6"
        assert "if-none-match" not in request.headers


@pytest.mark.anyio
async def test_livechat_lists_read_again_unchanged_are_unchanged() -> None:
    vendor = FakeConfiguration()
    kept = {"list_agents": LC_OK["list_agents"].revision or "", "list_groups": "older"}
    collections = by_name(await livechat(vendor).directory(kept))
    assert collections["list_agents"] == Collection(
        "livechat", "list_agents", "agent", "unchanged", revision=kept["list_agents"],
        whole=False,
    )  # fmt: skip
    assert collections["list_groups"] == LC_OK["list_groups"]  # changed: read anew
    assert all("if-none-match" not in r.headers for r in vendor.requests)  # none is offered


@pytest.mark.anyio
@pytest.mark.parametrize("refused", ["list_agents", "list_groups"])
async def test_livechat_403_refuses_one_list_and_names_the_scope(refused: str) -> None:
    vendor = FakeConfiguration(scripted={refused: [scope_missing(refused)]})
    collections = by_name(await livechat(vendor).directory({}))
    scope = SCOPES[refused].split()[1]
    assert collections[refused] == Collection(
        "livechat", refused, "agent" if refused == "list_agents" else "group", "refused",
        detail=f"authorization: The requested scope is missing: {scope}",
        grant=SCOPES[refused], whole=False,
    )  # fmt: skip
    other = "list_groups" if refused == "list_agents" else "list_agents"
    assert collections[other] == LC_OK[other]


@pytest.mark.anyio
async def test_livechat_401_refuses_both() -> None:
    refusal = error("authentication", "Invalid access token")
    vendor = FakeConfiguration(scripted={a: [httpx.Response(401, json=refusal)] for a in SCOPES})
    collections = await livechat(vendor).directory({})
    assert [(c.status, c.grant) for c in collections] == [
        ("refused", SCOPES["list_agents"]),
        ("refused", SCOPES["list_groups"]),
    ]
    assert collections[0].detail == "authentication: Invalid access token"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answers", "detail"),
    [
        pytest.param(
            [httpx.Response(500) for _ in range(3)], "HTTP 500 after 3 tries", id="500-storm"
        ),
        pytest.param([httpx.Response(200, text="{not json")], "not JSON: {not json", id="garbage"),
        pytest.param(
            [httpx.Response(200, json={"agents": []})],
            "the agent list is not a JSON array",
            id="object-not-list",
        ),
    ],
)
async def test_livechat_failure_fails_one_list(answers: list[httpx.Response], detail: str) -> None:
    clock = FakeClock()
    vendor = FakeConfiguration(scripted={"list_agents": list(answers)})
    collections = by_name(await livechat(vendor, clock=clock).directory({}))
    agents = collections["list_agents"]
    assert (agents.status, agents.entries, agents.detail) == ("failed", (), detail)
    assert collections["list_groups"] == LC_OK["list_groups"]
    assert len(clock.sleeps) == len(answers) - 1  # retried only the 5xx


@pytest.mark.anyio
async def test_livechat_without_retries_a_500_fails_at_once() -> None:
    vendor = FakeConfiguration(scripted={"list_groups": [httpx.Response(503)]})
    http = VendorHTTP(
        "LiveChat",
        httpx.AsyncClient(transport=httpx.MockTransport(vendor)),
        policy=RetryPolicy(attempts=1),
        sleep=no_retry,
        describe=lc.describe_error,
    )
    clock = FakeClock()
    source = LiveChat(BEARER, http, BucketCache(clock), clock)
    groups = by_name(await source.directory({}))["list_groups"]
    assert (groups.status, groups.detail) == ("failed", "HTTP 503 after 1 tries")

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest

from bot.errors import (
    SourceError,
    VendorAuthError,
    VendorBadResponse,
    VendorRateLimited,
    VendorRejected,
    VendorTimeout,
    VendorUnavailable,
)
from bot.sources.http import BucketCache, RetryPolicy, VendorHTTP, retry_after
from tests.fakes.clock import NOW, FakeClock

pytestmark = pytest.mark.anyio
URL = "https://vendor.example/api/data"
Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Vendor:
    """Answers from a script, one per request; counts the requests."""

    answers: Iterator[httpx.Response | Exception]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = next(self.answers)
        if isinstance(answer, Exception):
            raise answer
        return answer


def scripted(*answers: httpx.Response | Exception) -> Vendor:
    return Vendor(iter(answers))


def always(make: Callable[[], httpx.Response | Exception]) -> Vendor:
    def forever() -> Iterator[httpx.Response | Exception]:
        while True:
            yield make()

    return Vendor(forever())


def vendor_http(
    handler: Handler, waits: FakeClock, policy: RetryPolicy | None = None
) -> VendorHTTP:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return VendorHTTP("Acme", client, policy, sleep=waits.sleep)


def ok(body: object = None) -> httpx.Response:
    return httpx.Response(200, json={"ok": True} if body is None else body)


async def test_200_returns_the_response() -> None:
    vendor, waits = scripted(ok({"a": 1})), FakeClock()
    response = await vendor_http(vendor, waits).request("GET", URL, params={"q": "1"})
    assert response.json() == {"a": 1}
    assert [str(r.url) for r in vendor.requests] == [URL + "?q=1"]
    assert waits.sleeps == []


async def test_get_and_post_json() -> None:
    vendor, waits = scripted(ok({"got": True}), ok({"posted": True})), FakeClock()
    http = vendor_http(vendor, waits)
    assert await http.get_json(URL) == {"got": True}
    assert await http.post_json(URL, data={"k": "v"}) == {"posted": True}
    assert [(r.method, r.content) for r in vendor.requests] == [("GET", b""), ("POST", b"k=v")]


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failure_is_not_retried(status: int) -> None:
    vendor, waits = always(lambda: httpx.Response(status)), FakeClock()
    with pytest.raises(VendorAuthError) as caught:
        await vendor_http(vendor, waits).request("GET", URL)
    assert (caught.value.vendor, caught.value.detail) == ("Acme", f"HTTP {status}")
    assert len(vendor.requests) == 1
    assert waits.sleeps == []


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_rejected_keeps_the_body(status: int) -> None:
    body = '{"error":  "timeframe\\n must be <= 1440"}'
    vendor, waits = always(lambda: httpx.Response(status, text=body)), FakeClock()
    with pytest.raises(VendorRejected) as caught:
        await vendor_http(vendor, waits).request("GET", URL)
    assert caught.value.vendor == "Acme"
    assert caught.value.detail == f'HTTP {status}: {{"error": "timeframe\\n must be <= 1440"}}'
    assert len(vendor.requests) == 1


async def test_rejected_body_snippet_is_cut() -> None:
    vendor, waits = scripted(httpx.Response(400, text="x" * 500)), FakeClock()
    with pytest.raises(VendorRejected) as caught:
        await vendor_http(vendor, waits).request("GET", URL)
    assert caught.value.detail == "HTTP 400: " + "x" * 120 + "…"


async def test_429_twice_then_success() -> None:
    vendor = scripted(httpx.Response(429), httpx.Response(429), ok())
    waits = FakeClock()
    response = await vendor_http(vendor, waits).request("GET", URL)
    assert response.status_code == 200
    assert len(vendor.requests) == 3
    assert len(waits.sleeps) == 2
    assert all(w >= 1.0 for w in waits.sleeps)


async def test_429_honours_retry_after() -> None:
    vendor = scripted(httpx.Response(429, headers={"Retry-After": "3"}), ok())
    waits = FakeClock()
    await vendor_http(vendor, waits).request("GET", URL)
    assert waits.sleeps == [3.0]


@pytest.mark.parametrize("header", ["0", "0.2", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"])
async def test_429_waits_at_least_a_second(header: str) -> None:
    vendor = scripted(httpx.Response(429, headers={"Retry-After": header}), ok())
    waits = FakeClock()
    await vendor_http(vendor, waits).request("GET", URL)
    assert waits.sleeps == [1.0]


async def test_429_every_time_is_rate_limited() -> None:
    vendor, waits = always(lambda: httpx.Response(429)), FakeClock()
    policy = RetryPolicy(attempts=4)
    with pytest.raises(VendorRateLimited) as caught:
        await vendor_http(vendor, waits, policy).request("GET", URL)
    assert (caught.value.vendor, caught.value.detail) == ("Acme", "HTTP 429 after 4 tries")
    assert len(vendor.requests) == 4
    assert waits.sleeps == [1.0, 1.0, 1.0]


async def test_retry_after_beyond_max_wait_gives_up_at_once() -> None:
    vendor = always(lambda: httpx.Response(429, headers={"Retry-After": "60"}))
    waits = FakeClock()
    with pytest.raises(VendorRateLimited) as caught:
        await vendor_http(vendor, waits).request("GET", URL)
    assert caught.value.detail == "HTTP 429 after 1 tries"
    assert len(vendor.requests) == 1
    assert waits.sleeps == []


async def test_503_then_success_backs_off() -> None:
    vendor, waits = scripted(httpx.Response(503), ok()), FakeClock()
    response = await vendor_http(vendor, waits).request("GET", URL)
    assert response.status_code == 200
    assert waits.sleeps == [0.5]


async def test_500_every_time_is_unavailable() -> None:
    vendor, waits = always(lambda: httpx.Response(500)), FakeClock()
    with pytest.raises(VendorUnavailable) as caught:
        await vendor_http(vendor, waits).request("GET", URL)
    assert (caught.value.vendor, caught.value.detail) == ("Acme", "HTTP 500 after 3 tries")
    assert len(vendor.requests) == 3
    assert waits.sleeps == [0.5, 1.0]


async def test_lost_connection_is_retried_then_unavailable() -> None:
    vendor, waits = always(lambda: httpx.ConnectError("refused")), FakeClock()
    with pytest.raises(VendorUnavailable) as caught:
        await vendor_http(vendor, waits).request("GET", URL)
    assert (caught.value.vendor, caught.value.detail) == ("Acme", "cannot reach vendor.example")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(vendor.requests) == 3
    assert waits.sleeps == [0.5, 1.0]


async def test_lost_connection_then_success() -> None:
    vendor, waits = scripted(httpx.ConnectError("refused"), ok({"x": 1})), FakeClock()
    assert await vendor_http(vendor, waits).get_json(URL) == {"x": 1}
    assert waits.sleeps == [0.5]


@pytest.mark.parametrize(
    "error", [httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")]
)
async def test_timeout_is_not_retried(error: httpx.TimeoutException) -> None:
    vendor, waits = always(lambda: error), FakeClock()
    with pytest.raises(VendorTimeout) as caught:
        await vendor_http(vendor, waits).request("GET", URL)
    assert (caught.value.vendor, caught.value.detail) == ("Acme", "no answer from vendor.example")
    assert len(vendor.requests) == 1
    assert waits.sleeps == []


class Drip(httpx.AsyncByteStream):
    """A body that arrives one byte at a time: no single read is ever slow."""

    def __init__(self, body: bytes, every: float) -> None:
        self.body, self.every = body, every

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        for i in range(len(self.body)):
            await asyncio.sleep(self.every)
            yield self.body[i : i + 1]


async def test_an_answer_that_drips_is_cut_at_the_deadline() -> None:
    """httpx's read time-out never fires here: the whole request has a deadline."""
    body = b'{"ok": true, "padding": "' + b"x" * 400 + b'"}'
    vendor = always(lambda: httpx.Response(200, stream=Drip(body, 0.01)))
    client = httpx.AsyncClient(transport=httpx.MockTransport(vendor), timeout=1.0)
    slow = VendorHTTP("Acme", client, RetryPolicy(deadline=0.2))
    started = asyncio.get_running_loop().time()
    with pytest.raises(VendorTimeout) as caught:
        await slow.get_json(URL)
    assert asyncio.get_running_loop().time() - started < 2.0  # not the 4 s the drip would take
    assert str(caught.value) == "Acme did not answer in time (no answer from vendor.example)"
    assert len(vendor.requests) == 1  # a time-out is not retried


async def test_a_call_waiting_its_turn_is_bounded_too() -> None:
    """The per-attempt deadline starts once a request has its slot; the whole call, queue
    included, has a deadline of its own (attempts x deadline + the waits between)."""

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.15)
        return httpx.Response(200, json={"ok": True})

    policy = RetryPolicy(attempts=1, deadline=0.2, concurrency=1)
    assert policy.total == pytest.approx(0.2)
    http = VendorHTTP("Acme", httpx.AsyncClient(transport=httpx.MockTransport(slow)), policy)
    first, second = await asyncio.gather(
        http.get_json(URL), http.get_json(URL), return_exceptions=True
    )
    assert first == {"ok": True}
    assert isinstance(second, VendorTimeout)
    assert second.detail == "no answer from vendor.example within 0.2 s"


async def test_a_prompt_answer_is_untouched_by_the_deadline() -> None:
    body = b'{"ok": true}'
    vendor = always(lambda: httpx.Response(200, stream=Drip(body, 0.001)))
    client = httpx.AsyncClient(transport=httpx.MockTransport(vendor))
    assert await VendorHTTP("Acme", client, RetryPolicy(deadline=5.0)).get_json(URL) == {"ok": True}


async def test_non_json_body_is_a_bad_response() -> None:
    vendor, waits = scripted(httpx.Response(200, text="<html>Maintenance</html>")), FakeClock()
    with pytest.raises(VendorBadResponse) as caught:
        await vendor_http(vendor, waits).get_json(URL)
    assert (caught.value.vendor, caught.value.detail) == (
        "Acme",
        "not JSON: <html>Maintenance</html>",
    )
    assert str(caught.value) == (
        "Acme sent an answer the bot cannot read (not JSON: <html>Maintenance</html>)"
    )


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(401), VendorAuthError),
        (httpx.Response(400), VendorRejected),
        (httpx.Response(429), VendorRateLimited),
        (httpx.Response(502), VendorUnavailable),
        (httpx.ConnectError("down"), VendorUnavailable),
        (httpx.ReadTimeout("slow"), VendorTimeout),
        (httpx.Response(200, text="nope"), VendorBadResponse),
    ],
)
async def test_every_error_names_the_vendor(
    answer: httpx.Response | Exception, error: type[SourceError]
) -> None:
    vendor, waits = always(lambda: answer), FakeClock()
    with pytest.raises(error) as caught:
        await vendor_http(vendor, waits).get_json(URL)
    assert caught.value.vendor == "Acme"
    assert str(caught.value).startswith(f"Acme {error.kind}")


# --- BucketCache ---------------------------------------------------------------------


@dataclass
class Fetch:
    """A fetch that counts its runs, says it started and, while `gate` is closed, waits."""

    result: str = "data"
    gate: asyncio.Event | None = None
    error: Exception | None = None
    runs: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self) -> str:
        self.runs += 1
        run = self.runs
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return f"{self.result}-{run}"


async def test_concurrent_same_key_fetches_once() -> None:
    cache, gate = BucketCache(FakeClock()), asyncio.Event()
    fetch = Fetch(gate=gate)
    arrived = 0

    async def caller() -> str:
        nonlocal arrived
        arrived += 1
        if arrived == 20:
            gate.set()  # every caller is in before the fetch may finish
        return await cache.get("key", fetch)

    results = await asyncio.gather(*(caller() for _ in range(20)))
    assert results == ["data-1"] * 20
    assert fetch.runs == 1


async def test_result_is_kept_for_the_bucket() -> None:
    clock = FakeClock()
    cache, fetch = BucketCache(clock), Fetch()
    assert await cache.get("key", fetch) == "data-1"
    clock.now += timedelta(minutes=4, seconds=59)
    assert await cache.get("key", fetch) == "data-1"
    assert fetch.runs == 1


async def test_different_keys_fetch_separately() -> None:
    cache = BucketCache(FakeClock())
    skills, agents = Fetch("skills"), Fetch("agents")
    results = await asyncio.gather(
        cache.get(("csat", "skills"), skills), cache.get(("csat", "agents"), agents)
    )
    assert results == ["skills-1", "agents-1"]
    assert (skills.runs, agents.runs) == (1, 1)


async def test_next_bucket_fetches_again() -> None:
    clock = FakeClock()
    cache, fetch = BucketCache(clock), Fetch()
    assert await cache.get("key", fetch) == "data-1"
    clock.now += timedelta(minutes=5)
    assert await cache.get("key", fetch) == "data-2"
    assert await cache.get("key", fetch) == "data-2"
    assert fetch.runs == 2


async def test_failure_is_shared_then_forgotten() -> None:
    cache, gate = BucketCache(FakeClock()), asyncio.Event()
    boom = VendorUnavailable("Acme", "HTTP 503 after 3 tries")
    fetch = Fetch(gate=gate, error=boom)
    waiters = [asyncio.create_task(cache.get("key", fetch)) for _ in range(3)]
    await fetch.started.wait()  # the fetch runs after every waiter asked for it
    gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert results == [boom, boom, boom]
    assert fetch.runs == 1

    fetch.error = None
    assert await cache.get("key", fetch) == "data-2"
    assert fetch.runs == 2


async def test_cancelling_one_waiter_keeps_the_fetch_for_others() -> None:
    cache, gate = BucketCache(FakeClock()), asyncio.Event()
    fetch = Fetch(gate=gate)
    waiters = [asyncio.create_task(cache.get("key", fetch)) for _ in range(3)]
    await fetch.started.wait()  # the fetch runs after every waiter asked for it
    waiters[0].cancel()
    gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert results[1:] == ["data-1", "data-1"]
    assert fetch.runs == 1
    assert await cache.get("key", fetch) == "data-1"  # the completed fetch is still kept


async def test_the_cache_keeps_the_queries_asked_last() -> None:
    cache = BucketCache(FakeClock(), size=3)
    fetches = {key: Fetch(key) for key in "abcd"}
    for key in "abcd":
        await cache.get(key, fetches[key])
    assert len(cache) == 3
    assert await cache.get("d", fetches["d"]) == "d-1"  # kept
    assert await cache.get("a", fetches["a"]) == "a-2"  # the oldest went first
    assert len(cache) == 3


async def test_a_new_bucket_lets_go_of_the_old_one() -> None:
    clock = FakeClock()
    cache = BucketCache(clock)
    for key in "abc":
        await cache.get(key, Fetch(key))
    clock.now += timedelta(minutes=5)
    await cache.get("d", Fetch("d"))
    assert len(cache) == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Mon, 02 Mar 2026 13:25:30 GMT", 30.0),
        ("Mon, 02 Mar 2026 13:25:30 -0000", 30.0),  # a date without a zone is UTC
        ("soon", 0.0),
        ("inf", 0.0),
        ("nan", 0.0),
        ("1e999", 0.0),
        ("", 0.0),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(value: str, seconds: float) -> None:
    now = NOW.timestamp()
    assert retry_after(httpx.Headers({"Retry-After": value}), now) == pytest.approx(seconds)


async def test_a_client_given_as_a_function_is_made_at_the_first_request() -> None:
    """`serve` starts without httpx's clients: each is made when its vendor is first asked."""
    made: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        made.append(httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200))))
        return made[-1]

    never = VendorHTTP("Idle", make)
    await never.aclose()  # nothing made, nothing to close
    http = VendorHTTP("Acme", make)
    assert made == []
    assert (await http.request("GET", "https://acme.test/a")).status_code == 200
    assert (await http.request("GET", "https://acme.test/b")).status_code == 200
    assert len(made) == 1 and http.client is made[0]  # one client, shared
    await http.aclose()
    assert made[0].is_closed


async def test_httpcore_finds_its_async_library_without_searching_the_path() -> None:
    """httpcore asks sniffio which loop runs, four times per request; without sniffio
    every ask retries a failing import (a search of sys.path, about 60 us each)."""
    from httpcore import _synchronization

    assert _synchronization.current_async_library() == "asyncio"
    assert "sniffio" in sys.modules

"""A load client in a process of its own, adding as little latency as it can.

    python -m bench.load_client < spec.json > latencies.json

The spec is `{"port": N, "bursts": [[request, ...], ...], "every": seconds}`, each
request the whole HTTP request as text (signed beforehand); with `every`, burst n
starts n * every seconds after the first. For each burst the client opens one connection per
request first (not timed), then writes every request at once and times each from its
write to the last byte of its answer. It prints `{"seconds": [[...], ...], "statuses":
[[...], ...]}`, one list per burst. Nothing else runs in this process: no simulator, no
other client, so the figures are the server's.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def _one(
    port: int, request: bytes, ready: list[int], opened: asyncio.Event
) -> tuple[float, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ready[0] -= 1
    if ready[0] == 0:
        opened.set()
    await opened.wait()  # every connection is open before any request is written
    start = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    elapsed = time.perf_counter() - start
    writer.close()
    return elapsed, int(head.split(b" ", 2)[1])


async def _burst(port: int, requests: list[bytes]) -> tuple[list[float], list[int]]:
    opened, ready = asyncio.Event(), [len(requests)]
    results = await asyncio.gather(*(_one(port, r, ready, opened) for r in requests))
    return [r[0] for r in results], [r[1] for r in results]


async def _main(spec: dict[str, object]) -> dict[str, list[list[float]] | list[list[int]]]:
    port = int(spec["port"])  # type: ignore[call-overload]
    every = float(spec.get("every", 0))  # type: ignore[arg-type]  # seconds from burst to burst
    seconds, statuses = [], []
    start = time.perf_counter()
    for n, burst in enumerate(spec["bursts"]):  # type: ignore[attr-defined]
        if every:  # bursts at a steady pace, whatever each took
            await asyncio.sleep(max(0.0, start + n * every - time.perf_counter()))
        took, codes = await _burst(port, [r.encode() for r in burst])
        seconds.append(took)
        statuses.append(codes)
    return {"seconds": seconds, "statuses": statuses}


if __name__ == "__main__":
    json.dump(asyncio.run(_main(json.load(sys.stdin))), sys.stdout)

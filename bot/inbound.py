"""Requests from outside, read with care: a body is never read past its route's limit.

An unauthenticated client can send any size; reading it whole before refusing it would
let a few requests exhaust memory. `read_body` refuses on the declared length at once and
stops reading as soon as a chunked body passes the limit.
"""

from __future__ import annotations

from starlette.requests import Request


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be longer than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)

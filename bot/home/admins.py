"""Who may change digests, watches and alert settings from the Home tab.

`[slack] admins` lists user ids and user-group ids; a group's members are read with
`usergroups.users.list`. Without the list, Slack's own workspace admins and owners
(`users.info`). Answers are kept for a few minutes, so opening the home view and then
submitting a modal asks Slack once. Anything Slack does not answer clearly is a "no":
a change nobody may make is never made because Slack was down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)
KEEP_SECONDS = 300.0  # how long an answer about a person or a group is kept
ASK_SECONDS = 2.0  # a submission waits this long for Slack at most (its ack has 3 s)


class Admins:
    def __init__(
        self,
        admins: tuple[str, ...],
        web: AsyncWebClient | None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = {a for a in admins if not a.startswith("S")}
        self.groups = [a for a in admins if a.startswith("S")]
        self.web = web
        self.monotonic = monotonic
        self._kept: dict[str, tuple[float, Any]] = {}

    async def allows(self, user: str | None) -> bool:
        """Whether `user` may change things; False for anyone Slack cannot vouch for."""
        if not user or self.web is None:
            return False
        try:
            async with asyncio.timeout(ASK_SECONDS):
                if self.users or self.groups:
                    if user in self.users:
                        return True
                    for group in self.groups:
                        if user in await self._members(group):
                            return True
                    return False
                return await self._workspace_admin(user)
        except Exception as exc:  # Slack down, slow, or refusing: nobody is an admin now
            log.warning("home: could not tell whether %s is an admin: %s", user[:20], exc)
            return False

    async def _members(self, group: str) -> frozenset[str]:
        async def ask() -> frozenset[str]:
            assert self.web is not None
            found = await self.web.usergroups_users_list(usergroup=group)
            users = found.get("users")
            return (
                frozenset(u for u in users if isinstance(u, str))
                if isinstance(users, list)
                else frozenset()
            )

        return await self._kept_or(f"group:{group}", ask)  # type: ignore[no-any-return]

    async def _workspace_admin(self, user: str) -> bool:
        async def ask() -> bool:
            assert self.web is not None
            found = await self.web.users_info(user=user)
            person = found.get("user")
            if not isinstance(person, dict):
                return False
            return person.get("is_admin") is True or person.get("is_owner") is True

        return await self._kept_or(f"user:{user}", ask)  # type: ignore[no-any-return]

    async def _kept_or(self, key: str, ask: Callable[[], Any]) -> Any:
        now = self.monotonic()
        kept = self._kept.get(key)
        if kept is not None and now - kept[0] < KEEP_SECONDS:
            return kept[1]
        value = await ask()
        if len(self._kept) > 10_000:  # a flood of strangers: start again
            self._kept.clear()
        self._kept[key] = (now, value)
        return value

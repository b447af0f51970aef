"""Per-mailbox delta sync, many mailboxes at once through ``$batch``.

Each mailbox keeps its own cursor (``<prefix>:<email>``): a JSON object with
the next or delta link Graph gave us and, for calendars, the end of the
window the delta chain was started with (``calendarView/delta`` keeps its
window for life, so the chain is restarted before that end comes near).

One page of one mailbox is one :class:`SyncChunk`, so a crash loses at most
the pages not yet stored; a forgotten delta token (410 / syncStateNotFound)
starts that mailbox over and flags the chunk ``resynced``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

from connectors.base import Interaction, Person, SyncChunk
from connectors.microsoft.client import Call, GraphClient, Reply

log = logging.getLogger(__name__)

EXPIRED_CODES = ("syncstatenotfound", "syncstateinvalid", "resyncrequired",
                 "errorinvalidsyncstatedata", "fullsyncrequired")


@dataclass(frozen=True)
class Job:
    email: str
    url: str
    until: str | None  # ISO end of the calendar window; None for mail
    resynced: bool = False


@dataclass(frozen=True)
class Feed:
    """What differs between the calendar and the mail delta."""

    prefix: str  # cursor key prefix, e.g. "microsoft:calendar"
    permission: str
    start: Callable[[str], tuple[str, str | None]]  # email -> (first URL, window end)
    parse: Callable[[Mapping[str, Any], str], Interaction | None]
    stale: Callable[[str | None], bool]  # is a chain with this window end too old to keep?


class DeltaReader:
    def __init__(self, client: GraphClient, feed: Feed) -> None:
        self._client = client
        self._feed = feed
        size = client.settings.page_size
        self._headers = {"Prefer": f'outlook.timezone="UTC", odata.maxpagesize={size}'}

    def key(self, email: str) -> str:
        return f"{self._feed.prefix}:{email}"

    def _first_job(self, person: Person, cursors: Mapping[str, str]) -> Job:
        raw = cursors.get(self.key(person.email))
        if raw:
            try:
                state = json.loads(raw)
                link, until = str(state["link"]), state.get("until")
            except (ValueError, KeyError, TypeError):
                log.warning("unreadable cursor for one mailbox; reading it again in full")
            else:
                if not self._feed.stale(until):
                    return Job(person.email, link, until)
        url, until = self._feed.start(person.email)
        return Job(person.email, url, until, resynced=bool(raw))

    def _call(self, job: Job) -> Call:
        return Call("GET", job.url, job.email, self._feed.permission, headers=self._headers,
                    allow=frozenset({400, 403, 404, 410}))

    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        seen: set[str] = set()  # one meeting in many calendars is read many times
        self._refused: list[tuple[Job, Reply]] = []
        pending = deque(self._first_job(p, cursors) for p in people)
        settings = self._client.settings
        inflight: dict[Future[list[Reply]], list[Job]] = {}
        with ThreadPoolExecutor(max_workers=settings.workers) as pool:
            while pending or inflight:
                while pending and len(inflight) < settings.workers:
                    group = [pending.popleft() for _ in range(min(settings.batch_size, len(pending)))]
                    inflight[pool.submit(self._client.batch, [self._call(j) for j in group])] = group
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for future in done:
                    group = inflight.pop(future)
                    for job, reply in zip(group, future.result(), strict=True):
                        chunk, follow = self._handle(job, reply, seen)
                        if follow is not None:
                            pending.append(follow)
                        if chunk is not None:
                            yield chunk
        if people and len(self._refused) == len(people):
            # every mailbox refused: not an access policy, the permission itself is missing
            job, reply = self._refused[0]
            self._client.check(replace(self._call(job), allow=frozenset()), reply)

    def _handle(self, job: Job, reply: Reply, seen: set[str]) -> tuple[SyncChunk | None, Job | None]:
        if _expired(reply):
            log.info("%s delta token expired for one mailbox; full resync", self._feed.prefix)
            url, until = self._feed.start(job.email)
            return None, Job(job.email, url, until, resynced=True)
        if reply.status == 403:
            # An application access policy may keep the app out of some mailboxes: skip
            # this one (its cursor stays) rather than stop everyone's sync.
            log.warning("%s: a mailbox refused access (%s); skipped this cycle",
                        self._feed.prefix, reply.error_code or "403")
            self._refused.append((job, reply))
            return None, None
        if reply.status == 404:
            log.warning("%s: a mailbox was not found or has no Exchange Online licence (%s); "
                        "skipped", self._feed.prefix, reply.error_code or "404")
            return None, None
        if not reply.ok:
            self._client.check(self._call(job), reply)  # raises with a clear message
        found = []
        for item in reply.body.get("value", []):
            interaction = self._feed.parse(item, job.email)
            if interaction is not None and interaction.id not in seen:
                seen.add(interaction.id)
                found.append(interaction)
        next_link = reply.body.get("@odata.nextLink")
        link = next_link or reply.body.get("@odata.deltaLink")
        if not link:
            return SyncChunk(found, self.key(job.email), None, job.resynced), None
        cursor = json.dumps({"link": link, "until": job.until})
        chunk = SyncChunk(found, self.key(job.email), cursor, job.resynced)
        return chunk, (Job(job.email, str(next_link), job.until) if next_link else None)


def _expired(reply: Reply) -> bool:
    if reply.status == 410:
        return True
    return reply.status == 400 and reply.error_code.lower() in EXPIRED_CODES


def window(now: dt.datetime, history_days: int, lookahead_days: int) -> tuple[str, str]:
    """ISO bounds of a calendar window, whole days in UTC so URLs stay stable within a day."""
    today = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - dt.timedelta(days=history_days)
    end = today + dt.timedelta(days=lookahead_days)
    return _iso(start), _iso(end)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

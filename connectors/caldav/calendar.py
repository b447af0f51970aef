"""CalDAV calendars: incremental meeting sync, free/busy, and Bridgework's own holds.

Reading, per person: their calendar home is found once (principal, then
calendar-home-set; kept in the cursor), and every cycle starts with one
PROPFIND of that home, which names each calendar with its sync-token and
ctag. A calendar whose token did not move costs nothing more. One that
changed is asked for its changes (sync-collection, RFC 6578, calendar data
included) or, without sync-tokens, compared etag by etag. Events are
expanded in the window ``[now - history_days, now + lookahead_days)``; as
that window's end moves on (a day at a time) a calendar-query fetches the
series that reach into the new days.

The same meeting sits in each attendee's calendar under one UID, so its
interaction id (UID plus the occurrence's RECURRENCE-ID) is the same
wherever it is read and the ledger counts it once.

Holds are VEVENTs at ``<hold calendar>/<hold id>.ics`` with the UID
``<hold id>@bridgework``, ``STATUS:TENTATIVE`` and the mark property
``X-BRIDGEWORK-HOLD``. Creating one uses ``If-None-Match: *``, so placing it
again changes nothing; moving and deleting use the etag read when the mark
was checked, so an event replaced in between is left alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.accounts import Accounts, Login
from connectors.base import (
    Busy,
    Calendar,
    Hold,
    HoldMode,
    HoldState,
    Interaction,
    Person,
    Response,
    SyncChunk,
    cancellation,
)
from connectors.caldav import events
from connectors.caldav.dav import Collection, Dav, DavError, Refused, TokenExpired
from connectors.caldav.settings import CalDavSettings
from connectors.caldav.state import CalendarState, DamagedCursor, PersonState, load
from connectors.common.clock import Clock, system_clock
from connectors.common.errors import ConnectorError, PermissionMissing

log = logging.getLogger(__name__)

HORIZON_STEP = dt.timedelta(days=1)  # the window's end moves on in whole days
_UTC = ZoneInfo("UTC")

ClientFactory = Callable[[Login], Dav]


def cursor_key(email: str) -> str:
    return f"caldav:{email}"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return _UTC


@dataclass
class Home:
    """Where one person's calendars are, found this run."""

    dav: Dav
    href: str
    collections: list[Collection]

    def event_calendars(self) -> list[Collection]:
        return [c for c in self.collections if c.events]


class CalDavCalendar(Calendar):
    def __init__(self, settings: CalDavSettings, accounts: Accounts, *,
                 clock: Clock = system_clock, client: ClientFactory | None = None) -> None:
        self.settings = settings
        self._accounts = accounts
        self._clock = clock
        self._make = client or (lambda login: Dav(settings, login))
        self._clients: dict[str, Dav] = {}
        self._homes: dict[str, Home] = {}
        self._etags: dict[str, str | None] = {}  # hold href -> etag seen by the mark check
        self._server_schedules: bool | None = None
        self._zones: dict[str, ZoneInfo] = {}  # each person's zone, learnt from the directory

    # --- clients and discovery --------------------------------------------------------------
    @property
    def requests(self) -> int:
        """Requests sent so far, by every client (for the bench and the check)."""
        return sum(c.requests for c in self._clients.values())

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _client(self, email: str) -> tuple[Dav, Login]:
        login = self._accounts.for_person(email)
        if login is None:
            raise Refused(f"no sign-in for {email} in the accounts file")
        client = self._clients.get(login.username)
        if client is None:
            client = self._clients[login.username] = self._make(login)
        return client, login

    def _discover(self, dav: Dav, login: Login) -> str:
        if login.acting_for is not None:  # one account reading everyone: principals by template
            base = dav.settings.url.rstrip("/")
            principal = base + self.settings.principal_path.format(login=quote(login.acting_for,
                                                                               safe="@"))
            return dav.calendar_home(principal)
        return dav.calendar_home(dav.current_principal())

    def _home(self, email: str, known: str | None = None) -> Home:
        """The person's calendar home and its calendars (one PROPFIND when ``known``)."""
        dav, login = self._client(email)
        href = known or self._discover(dav, login)
        try:
            collections = dav.collections(href)
        except DavError as exc:
            if known is None or exc.status not in (404, 410):
                raise
            href = self._discover(dav, login)  # the home moved: find it again
            collections = dav.collections(href)
        home = self._homes[email] = Home(dav, href, collections)
        return home

    # --- reading ----------------------------------------------------------------------------
    def read(self, people: Sequence[Person], cursors: Mapping[str, str]) -> Iterator[SyncChunk]:
        refused: list[str] = []
        for person in people:
            self._zones[person.email] = _zone(person.timezone)
            try:
                chunk = self._read_person(person, cursors.get(cursor_key(person.email)))
            except Refused as exc:
                log.warning("could not read one person's calendars (%s); skipped this cycle",
                            exc.message)
                refused.append(exc.message)
                continue
            if chunk is not None:
                yield chunk
        if people and len(refused) == len(people):
            raise PermissionMissing("no calendar could be read: " + refused[0] + ". Give the "
                                    "account read rights on every person's calendars, or check "
                                    "the accounts file")

    def _read_person(self, person: Person, raw: str | None) -> SyncChunk | None:
        resynced = False
        try:
            old = load(raw)
        except DamagedCursor as exc:
            self.problems.report(cursor_key(person.email), "cursor", f"{exc}; read again from the start")
            old, resynced = PersonState(), True
        try:
            home = self._home(person.email, old.home)
        except DavError as exc:
            if isinstance(exc, Refused) or exc.status is None:
                raise  # refused (counted by read) or no answer at all (the server is down)
            # the server answered, but not for this person: the others are still read
            self.problems.report(self.settings.url, person.email,
                                 f"calendars skipped this cycle: {exc.message}")
            return None
        now = self._clock()
        lo = now - dt.timedelta(days=self.settings.history_days)
        hi = now + dt.timedelta(days=self.settings.lookahead_days)
        if old.until is not None and hi - old.until < HORIZON_STEP:
            hi = old.until  # keep the window's end until a whole day has passed
        new = PersonState(home.href, hi, {})
        found: list[Interaction] = []
        reader = _Expander(self, person, lo, hi, now, found)
        for collection in home.event_calendars():
            before = old.calendars.get(collection.href)
            try:
                state = self._read_calendar(home.dav, collection, before, old.until, reader)
            except TokenExpired:
                log.info("sync-token of one calendar expired; reading it again")
                # what was waiting stays known, so objects deleted meanwhile still cancel it
                fresh = CalendarState(future=dict(before.future)) if before else None
                state = self._read_calendar(home.dav, collection, fresh, None, reader)
                resynced = True
            except DavError as exc:
                if exc.status is None and not isinstance(exc, Refused):
                    raise  # no answer at all: the server is down, not this calendar
                self.problems.report(collection.href, "calendar",
                                     f"skipped this cycle: {exc.message}")
                if before is not None:
                    new.calendars[collection.href] = before
                new.until = old.until  # its new days are read with it, next cycle
                continue
            state.prune(now)
            new.calendars[collection.href] = state
        for href, gone in old.calendars.items():  # a calendar removed: its future meetings go
            if href not in new.calendars and href not in {c.href for c in home.collections}:
                found.extend(cancellation(i) for obj in gone.future for i in gone.pending(obj))
        return SyncChunk(found, cursor_key(person.email), new.dump(), resynced)

    def _read_calendar(self, dav: Dav, collection: Collection, before: CalendarState | None,
                       until: dt.datetime | None, reader: _Expander) -> CalendarState:
        """One calendar's changes since ``before``, handed to ``reader``; its new state.

        :raises TokenExpired: the server forgot the sync-token (the caller reads it all again).
        :raises DavError: the calendar could not be read.
        """
        use_token = self.settings.incremental == "auto" and collection.sync_token is not None
        state = CalendarState(collection.sync_token if use_token else None, collection.ctag,
                              None, dict(before.future) if before else {})
        unchanged = before is not None and (
            (use_token and before.token == collection.sync_token)
            or (not use_token and before.ctag is not None and before.ctag == collection.ctag))
        done: set[str] = set()
        if unchanged:
            assert before is not None
            state.etags = before.etags
        elif use_token:
            token = before.token if before is not None else None
            full = token is None
            result = dav.sync(collection.href, token)
            state.token = result.sync_token or collection.sync_token
            missing = [item.href for item in result.changed if item.calendar_data is None]
            items = [i for i in result.changed if i.calendar_data is not None]
            items += dav.multiget(collection.href, missing) if missing else []
            for item in items:
                reader.object(collection.href, item.href, item.calendar_data, state)
                done.add(item.href)
            for href in result.deleted:
                reader.gone(href, state)
            if full:  # everything there was listed: what is missing was deleted
                for href in [h for h in state.future if h not in done]:
                    reader.gone(href, state)
        else:
            etags = dav.etags(collection.href)
            known = (before.etags or {}) if before else {}
            changed = [h for h, tag in etags.items() if known.get(h) != tag]
            for item in dav.multiget(collection.href, changed) if changed else []:
                reader.object(collection.href, item.href, item.calendar_data, state)
                done.add(item.href)
            for href in set(known) - set(etags):
                reader.gone(href, state)
            state.etags = etags
        if before is not None and until is not None and reader.hi > until:
            # the window's end moved on: series reaching into the new days, even unchanged ones
            for item in dav.query(collection.href, until, reader.hi):
                if item.href not in done:
                    reader.object(collection.href, item.href, item.calendar_data, state,
                                  since=until)
        return state

    # --- free/busy --------------------------------------------------------------------------
    def busy(self, emails: Sequence[str], start: dt.datetime,
             end: dt.datetime) -> dict[str, list[Busy]]:
        result: dict[str, list[Busy]] = {}
        for email in emails:
            try:
                home = self._homes.get(email) or self._home(email)
                spans: list[Busy] = []
                for collection in home.event_calendars():
                    spans.extend(self._busy_in(home.dav, collection, email, start, end))
            except DavError as exc:
                if exc.status is None and not isinstance(exc, Refused):
                    raise
                # a calendar nobody can see is not free: never hold time over it
                log.warning("free/busy unavailable for one person (%s); treated as busy",
                            exc.message)
                spans = [Busy(start, end)]
            result[email] = sorted(spans, key=lambda b: (b.start, b.end))
        return result

    def _busy_in(self, dav: Dav, collection: Collection, email: str, start: dt.datetime,
                 end: dt.datetime) -> list[Busy]:
        if self.settings.busy_from == "free-busy-query":
            try:
                return [b for b in events.free_busy_periods(dav.free_busy(collection.href, start, end))
                        if b.end > start and b.start < end]
            except events.BadObject as exc:
                raise DavError(f"{collection.href}: unreadable free-busy answer ({exc})", 502) from None
        zone = self._zones.get(email, _UTC)  # floating times are the person's
        spans = []
        for item in dav.query(collection.href, start, end):
            try:
                cal = events.parse_object(item.calendar_data or "")
                for occurrence in events.occurrences(cal, email, zone, start, end,
                                                     self.settings.max_occurrences):
                    if occurrence.end > start and occurrence.busy_for(email):
                        spans.append(Busy(occurrence.start, occurrence.end))
            except events.BadObject as exc:
                # unreadable: busy for the whole window rather than a hold on an unseen meeting
                self.problems.report(item.href, "event", f"{exc}; counted as busy")
                spans.append(Busy(start, end))
        return spans

    # --- holds ------------------------------------------------------------------------------
    def discover(self, email: str) -> Home:
        """The person's calendar home and calendars, found afresh (for the check command)."""
        return self._home(email)

    def hold_address(self, email: str, hold_id: str = "check") -> tuple[Dav, str]:
        """The client and the href a hold with ``hold_id`` would have in ``email``'s calendar.

        :raises ConnectorError: the person has no calendar for holds.
        """
        home = self._homes.get(email) or self._home(email)
        calendars = home.event_calendars()
        wanted = self.settings.hold_calendar
        if wanted:
            calendars = [c for c in calendars
                         if c.href.rstrip("/").rsplit("/", 1)[-1] == wanted or c.name == wanted]
        if not calendars:
            raise ConnectorError(f"{email} has no calendar for holds"
                                 + (f" named {wanted!r}" if wanted else ""))
        return home.dav, calendars[0].href.rstrip("/") + "/" + hold_id + ".ics"

    def _hold_href(self, hold: Hold, email: str | None = None) -> tuple[Dav, str]:
        """Where the hold's event is in ``email``'s calendar (the organiser's by default)."""
        return self.hold_address(email or hold.organizer, hold.id)

    def _delivers(self, hold: Hold) -> bool:
        """Whether Bridgework itself puts an invite-mode hold in the invitees' calendars."""
        if hold.mode is not HoldMode.INVITE or self.settings.invitations == "server":
            return False
        if self.settings.invitations == "bridgework":
            return True
        if self._server_schedules is None:
            dav, href = self._hold_href(hold)
            self._server_schedules = dav.schedules(href.rsplit("/", 1)[0] + "/")
        return not self._server_schedules

    def _invitees(self, hold: Hold) -> list[str]:
        return [a for a in dict.fromkeys(hold.attendees) if a != hold.organizer]

    def _stored(self, hold: Hold, email: str | None = None) -> events.StoredHold | None:
        dav, href = self._hold_href(hold, email)
        got = dav.get(href)
        if got is None:
            self._etags.pop(href, None)
            return None
        data, etag = got
        self._etags[href] = etag
        try:
            return events.read_hold(data, hold)
        except events.BadObject:
            # something unreadable sits at our address: it exists, and it is not ours
            return events.StoredHold(None, HoldState(exists=True), 0)

    def place(self, hold: Hold) -> None:
        now = self._clock()
        data = events.hold_object(hold, now=now)
        if self._delivers(hold):
            # the invitations first: once the organiser's copy exists, they do too
            for who in self._invitees(hold):
                dav, href = self._hold_href(hold, who)
                dav.put(href, data, create=True)
        dav, href = self._hold_href(hold)
        if not dav.put(href, data, create=True):
            log.debug("hold %s already placed", hold.id)

    def state(self, hold: Hold) -> HoldState:
        stored = self._stored(hold)
        if stored is None:
            return HoldState(exists=False)
        if not stored.state.exists or not self._delivers(hold):
            return stored.state
        responses = dict(stored.state.responses)
        for who in self._invitees(hold):
            # each invitee answers on their own copy; one they removed is a no
            copy = self._stored(hold, who)
            answer = copy.state.responses.get(who) if copy is not None else None
            responses[who] = answer or Response.DECLINED
        return HoldState(True, stored.state.start, stored.state.end, False, responses)

    def _read_mark(self, hold: Hold) -> str | None:
        stored = self._stored(hold)
        return stored.mark if stored is not None else None

    def _copies(self, hold: Hold) -> list[tuple[Dav, str, str, str | None]]:
        """The delivered invitations that still carry this hold's mark (others are left alone)."""
        found = []
        for who in self._invitees(hold) if self._delivers(hold) else []:
            dav, href = self._hold_href(hold, who)
            got = dav.get(href)
            if got is None:
                continue
            try:
                mark = events.read_hold(got[0], hold).mark
            except events.BadObject:
                mark = None
            if mark == hold.mark:
                found.append((dav, href, got[0], got[1]))
            else:
                log.warning("an invitee's copy of hold %s lost its mark; left alone", hold.id)
        return found

    def _update_time(self, hold: Hold, start: dt.datetime, end: dt.datetime) -> None:
        dav, href = self._hold_href(hold)
        got = dav.get(href)
        if got is None:
            raise ConnectorError(f"hold {hold.id} vanished from {hold.organizer}'s calendar")
        data, etag = got
        if etag != self._etags.get(href, etag):
            raise ConnectorError(f"hold {hold.id} changed after its mark was checked; not moved")
        now = self._clock()
        for copy_dav, copy_href, copy_data, copy_etag in self._copies(hold):
            copy_dav.put(copy_href, events.moved(copy_data, start, end, now), etag=copy_etag)
        dav.put(href, events.moved(data, start, end, now), etag=etag)

    def _delete(self, hold: Hold) -> None:
        for copy_dav, copy_href, _, copy_etag in self._copies(hold):
            copy_dav.delete(copy_href, copy_etag)
        dav, href = self._hold_href(hold)
        dav.delete(href, self._etags.get(href))


class _Expander:
    """Turns the objects of one person's calendars into interactions and pending ids."""

    def __init__(self, owner: CalDavCalendar, person: Person, lo: dt.datetime, hi: dt.datetime,
                 now: dt.datetime, out: list[Interaction]) -> None:
        self._owner = owner
        self._person = person
        self._zone = _zone(person.timezone)
        self.lo, self.hi, self._now = lo, hi, now
        self._out = out

    def object(self, calendar: str, href: str, data: str | None, state: CalendarState, *,
               since: dt.datetime | None = None) -> None:
        lo = since or self.lo
        # a horizon read adds to what was waiting; a changed object replaces it
        waiting = {} if since is None else {e[0]: e for e in state.future.get(href, [])}
        try:
            cal = events.parse_object(data or "")
            found = list(events.occurrences(cal, self._person.email, self._zone, lo, self.hi,
                                            self._owner.settings.max_occurrences))
        except events.BadObject as exc:
            self._owner.problems.report(href, _uid_hint(data), str(exc))
            return
        for occurrence in found:
            self._out.append(occurrence.interaction())
            if occurrence.start > self._now:
                waiting[occurrence.id] = [occurrence.id, occurrence.start.timestamp()]
        if since is None:
            # occurrences that were to come and are no longer there were cancelled
            self._out.extend(cancellation(i) for i in state.pending(href) - set(waiting))
        if waiting:
            state.future[href] = list(waiting.values())
        else:
            state.future.pop(href, None)

    def gone(self, href: str, state: CalendarState) -> None:
        self._out.extend(cancellation(i) for i in state.pending(href))
        state.future.pop(href, None)


def _uid_hint(data: str | None) -> str:
    """Where in a bad object: its UID when one can be seen, so the problem can be found."""
    for line in (data or "").splitlines():
        if line.upper().startswith("UID:"):
            return f"UID {line[4:].strip()[:80]}"
    return "object"


"""Radicale, the CalDAV server from PyPI, in a subprocess with htpasswd users and rights.

One ``admin`` account may read and write every collection (the proxy
account Bridgework uses); every other user may use only their own. Ready
means an authenticated PROPFIND succeeded, not just an open port.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import requests

from tests.servers.common import free_port, stop_process, unavailable, wait_until

ADMIN, ADMIN_PASSWORD = "admin", "admin-secret"

RIGHTS = """\
[locked]
# a calendar the admin may see listed but not read: one calendar that refuses
user: admin
collection: [^/]+/locked
permissions: RW

[admin]
user: admin
collection: .*
permissions: RrWw

[root]
user: .+
collection:
permissions: R

[principal]
user: .+
collection: {user}
permissions: RW

[calendars]
user: .+
collection: {user}/[^/]+
permissions: rw
"""


class Radicale:
    def __init__(self, users: Mapping[str, str]) -> None:
        if importlib.util.find_spec("radicale") is None:
            unavailable("radicale is not installed (pip install '.[test]')")
        self.users = {ADMIN: ADMIN_PASSWORD, **users}
        self.dir = Path(tempfile.mkdtemp(prefix="bw-radicale-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        (self.dir / "users").write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
        (self.dir / "rights").write_text(RIGHTS)
        (self.dir / "config").write_text(f"""\
[server]
hosts = 127.0.0.1:{self.port}
[auth]
type = htpasswd
htpasswd_filename = {self.dir / 'users'}
htpasswd_encryption = plain
delay = 0
[rights]
type = from_file
file = {self.dir / 'rights'}
[storage]
filesystem_folder = {self.dir / 'collections'}
[logging]
level = warning
""")
        self.log = (self.dir / "radicale.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(self.dir / "config")],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.auth = (ADMIN, ADMIN_PASSWORD)
        if not wait_until(self._answers, 20, lambda: self.process.poll() is None):
            log = (self.dir / "radicale.log").read_text(errors="replace")[-2000:]
            self.stop()
            unavailable(f"Radicale did not start: {log}")

    def _answers(self) -> bool:
        reply = self.session.request("PROPFIND", self.url, headers={"Depth": "0"}, timeout=2)
        return reply.status_code == 207

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- seeding, as the admin account ------------------------------------------------------
    def href(self, user: str, calendar: str = "calendar", name: str | None = None) -> str:
        base = f"/{quote(user, safe='@')}/{calendar}/"
        return base + name if name else base

    def request(self, method: str, href: str, body: str | bytes = "",
                headers: Mapping[str, str] | None = None, *,
                as_user: str | None = None) -> requests.Response:
        auth = (as_user, self.users[as_user]) if as_user else None
        return self.session.request(method, self.url.rstrip("/") + href, data=body,
                                    headers=dict(headers or {}), timeout=10, auth=auth)

    def make_calendar(self, user: str, calendar: str = "calendar", name: str = "Calendar", *,
                      as_owner: bool = False) -> str:
        principal = self.request("MKCOL", f"/{quote(user, safe='@')}/")
        assert principal.status_code in (201, 405), principal.text  # 405: exists already
        body = f"""<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
 <D:set><D:prop><D:displayname>{name}</D:displayname>
 <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
 </D:prop></D:set></C:mkcalendar>"""
        href = self.href(user, calendar)
        reply = self.request("MKCALENDAR", href, body, as_user=user if as_owner else None)
        assert reply.status_code in (201, 405, 409), reply.text  # 405, 409: exists already
        return href

    def put(self, href: str, ics: str | bytes) -> requests.Response:
        return self.request("PUT", href, ics, {"Content-Type": "text/calendar; charset=utf-8"})

    def get(self, href: str) -> str | None:
        reply = self.request("GET", href)
        return reply.text if reply.status_code == 200 else None

    def delete(self, href: str) -> None:
        self.request("DELETE", href)

    def wipe(self) -> None:
        """Every user's collections removed (between tests)."""
        for user in self.users:
            if user != ADMIN:
                self.request("DELETE", f"/{quote(user, safe='@')}/")

    def objects(self, user: str, calendar: str = "calendar") -> dict[str, str]:
        """Every object in a calendar, by href, as the server stores it."""
        body = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
 <D:prop><C:calendar-data/></D:prop>
 <C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>"""
        reply = self.request("REPORT", self.href(user, calendar), body, {"Depth": "1"})
        from lxml import etree

        tree = etree.fromstring(reply.content)
        ns = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}
        return {r.findtext("D:href", namespaces=ns): r.findtext(".//C:calendar-data", namespaces=ns)
                for r in tree.findall("D:response", ns) if r.find(".//C:calendar-data", ns) is not None}

"""Dovecot (Debian's dovecot-imapd) run unprivileged with its own configuration.

Users live in a passwd-file, mail in Maildir under a temporary folder, and
one master user (``master``) may act for anyone (SASL PLAIN authorization
identity, or ``user*master``). Running as root, the server is started as
``nobody``; otherwise as the current user. Ready means a test LOGIN
succeeded, not just an open port.
"""

from __future__ import annotations

import datetime as dt
import grp
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from imapclient import IMAPClient

from tests.servers.common import free_port, stop_process, unavailable, wait_until

MASTER, MASTER_PASSWORD = "master", "master-secret"
PROBE, PROBE_PASSWORD = "probe@example.org", "probe-secret"


def _binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.path.exists(p)), None)


class Dovecot:
    def __init__(self, users: Mapping[str, str], *, special_use: bool = True) -> None:
        self.special_use = special_use
        self._open: dict[str, IMAPClient] = {}  # seeding sessions, one per user
        binary = _binary()
        if binary is None:
            unavailable("dovecot is not installed (make test installs Debian's dovecot-imapd)")
        self.users = {PROBE: PROBE_PASSWORD, **users}
        self.dir = Path(tempfile.mkdtemp(prefix="bw-dovecot-"))
        self.port = free_port()
        if os.geteuid() == 0:
            account = pwd.getpwnam("nobody")
            self.user, self.group = account.pw_name, grp.getgrgid(account.pw_gid).gr_name
            uid, gid = account.pw_uid, account.pw_gid
        else:
            uid, gid = os.getuid(), os.getgid()
            self.user, self.group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
        for sub in ("run", "state", "home"):
            (self.dir / sub).mkdir()
        self._write_config()
        for path in [self.dir, *self.dir.rglob("*")]:
            os.chown(path, uid, gid)
        self.log_path = self.dir / "dovecot.log"
        command = [binary, "-F", "-c", str(self.dir / "dovecot.conf")]
        extra = {"user": uid, "group": gid, "extra_groups": []} if os.geteuid() == 0 else {}
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT, **extra)  # type: ignore[arg-type]
        if not wait_until(self._logs_in, 20, lambda: self.process.poll() is None):
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            self.stop()
            unavailable(f"Dovecot did not accept a LOGIN: {log}")

    def _write_config(self) -> None:
        d = self.dir
        (d / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items()))
        (d / "masters").write_text(f"{MASTER}:{{PLAIN}}{MASTER_PASSWORD}::::::\n")
        (d / "dovecot.conf").write_text(f"""\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# a refused sign-in answers at once (the default waits 2 s to slow guessing down)
auth_failure_delay = 0
# no growing penalty for repeated failures from loopback (the tests refuse on purpose)
login_trusted_networks = 127.0.0.1/32
auth_master_user_separator = *
default_internal_user = {self.user}
default_internal_group = {self.group}
default_login_user = {self.user}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
{self._sent_box()}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/masters
  master = yes
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
  default_fields = uid={self.user} gid={self.group} home={d}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  # "high-performance" login: one long-lived login process, not one per connection
  service_count = 0
  chroot =
}}
service anvil {{
  chroot =
}}
service imap {{
  # all users share one uid here, so a warm imap process may serve one after another
  service_count = 0
  process_min_avail = 1
}}
service auth {{
  user = {self.user}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")

    def _sent_box(self) -> str:
        if not self.special_use:  # a server that marks no folder \Sent
            return ""
        return "  mailbox Sent {\n    special_use = \\Sent\n    auto = create\n  }"

    def _logs_in(self) -> bool:
        with IMAPClient("127.0.0.1", self.port, ssl=False, timeout=2) as client:
            client.login(PROBE, PROBE_PASSWORD)
            return True

    def stop(self) -> None:
        self._close_all()
        stop_process(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- seeding, as the master user -----------------------------------------------------
    def client(self, user: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=10)
        client.plain_login(MASTER, MASTER_PASSWORD, authorization_identity=user)
        return client

    def append(self, user: str, folder: str, message: bytes,
               when: dt.datetime | None = None) -> None:
        client = self._open.get(user)
        if client is None:
            client = self._open[user] = self.client(user)
        if not client.folder_exists(folder):
            client.create_folder(folder)
        client.append(folder, message, flags=(), msg_time=when)

    def _close_all(self) -> None:
        for client in self._open.values():
            client.logout()
        self._open.clear()

    def wipe(self) -> None:
        """Every mailbox emptied (between tests): the homes go, Dovecot makes them anew."""
        self._close_all()
        for home in (self.dir / "home").iterdir():
            shutil.rmtree(home, ignore_errors=True)

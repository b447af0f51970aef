"""Which Graph application permissions a configuration needs, and which a token has.

Least privilege: read-only calendars unless holds are written, basic mail
(headers without bodies) rather than Mail.Read, and Mail.Send only when
digests are sent. A broader permission satisfies a narrower need, but is
reported so the admin can take it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from connectors.base import HoldMode
from connectors.microsoft.settings import MicrosoftSettings


@dataclass(frozen=True)
class Need:
    permission: str
    why: str
    also: frozenset[str] = frozenset()  # broader permissions that satisfy it too

    def met_by(self, roles: Iterable[str]) -> bool:
        return bool({self.permission, *self.also} & set(roles))


BROADER_THAN_NEEDED = {
    "Mail.Read": "Mail.ReadBasic.All",
    "Mail.ReadWrite": "Mail.ReadBasic.All",
    "Directory.Read.All": "User.Read.All",
    "MailboxSettings.ReadWrite": "MailboxSettings.Read",
}


def needed(settings: MicrosoftSettings, mode: HoldMode, digests: bool) -> list[Need]:
    needs = [Need("User.Read.All", "list people, departments and managers",
                  frozenset({"Directory.Read.All"}))]
    writes = mode in (HoldMode.HOLD, HoldMode.INVITE)
    if settings.read_calendar and not writes:
        needs.append(Need("Calendars.Read", "read meetings and free/busy",
                          frozenset({"Calendars.ReadWrite"})))
    if writes:
        needs.append(Need("Calendars.ReadWrite", f"read meetings and place holds (mode {mode.value})"))
    if settings.read_mail:
        needs.append(Need("Mail.ReadBasic.All", "read who wrote to whom (no subjects or bodies)",
                          frozenset({"Mail.Read", "Mail.ReadWrite"})))
    if settings.working_hours:
        needs.append(Need("MailboxSettings.Read", "read time zones and working hours",
                          frozenset({"MailboxSettings.ReadWrite"})))
    if digests:
        needs.append(Need("Mail.Send", "send the weekly digests"))
    return needs


def surplus(roles: Iterable[str], needs: Iterable[Need]) -> list[str]:
    """Granted permissions broader than what the configuration uses."""
    wanted = {n.permission for n in needs}
    out = [f"{role} (only {narrow} is needed)" for role, narrow in BROADER_THAN_NEEDED.items()
           if role in roles and narrow in wanted]
    if "Calendars.ReadWrite" in roles and "Calendars.Read" in wanted:
        out.append("Calendars.ReadWrite (only Calendars.Read is needed in this mode)")
    if "Mail.Send" in roles and "Mail.Send" not in wanted:
        out.append("Mail.Send (digests are off)")
    return out


def grant_hint(missing: Iterable[str], mode: HoldMode) -> str:
    """What the admin does in Entra ID so the app carries ``missing``."""
    return (f"the app registration lacks {', '.join(missing)} (mode {mode.value}); add them "
            "as application permissions in Entra ID > App registrations > API permissions and "
            "grant admin consent")

"""Backends chosen by the ``type:`` key of the ``source`` section of the config."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from connectors.base import Connectors
from connectors.caldav.settings import CalDavSettings
from connectors.files.settings import FilesSettings
from connectors.google.settings import GoogleSettings
from connectors.imap.settings import ImapSettings
from connectors.microsoft.settings import MicrosoftSettings

AnySource = FilesSettings | GoogleSettings | MicrosoftSettings | CalDavSettings | ImapSettings
SourceSettings = Annotated[AnySource, Field(discriminator="type")]


def build_connectors(settings: AnySource) -> Connectors:
    """The connectors a configuration names; heavy client libraries load only when used."""
    if isinstance(settings, FilesSettings):
        from connectors import files

        return files.build(settings)
    if isinstance(settings, GoogleSettings):
        from connectors import google

        return google.build(settings)
    if isinstance(settings, CalDavSettings):
        from connectors import caldav

        return caldav.build(settings)
    if isinstance(settings, ImapSettings):
        from connectors import imap

        return imap.build(settings)
    from connectors import microsoft

    return microsoft.build(settings)

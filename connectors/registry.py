"""Backends chosen by the ``type:`` key of the ``source`` section of the config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import Connectors
from connectors.google.settings import GoogleSettings
from connectors.microsoft.settings import MicrosoftSettings


class FilesSettings(BaseModel):
    """A data directory (see README): people.csv, messages.jsonl, events.jsonl, ics, mbox."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["files"]
    path: Path = Field(description="the data directory")
    outbox: Path | None = Field(None, description="where holds.ics and digests go; default DIR/outbox")


SourceSettings = Annotated[
    FilesSettings | GoogleSettings | MicrosoftSettings, Field(discriminator="type")
]


def build_connectors(settings: FilesSettings | GoogleSettings | MicrosoftSettings) -> Connectors:
    """The connectors a configuration names; heavy client libraries load only when used."""
    if isinstance(settings, FilesSettings):
        from connectors import files

        return files.build(settings)
    if isinstance(settings, GoogleSettings):
        from connectors import google

        return google.build(settings)
    from connectors import microsoft

    return microsoft.build(settings)

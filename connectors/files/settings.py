"""The ``source`` settings of a data directory (``type: files``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FilesSettings(BaseModel):
    """A data directory (see README): people.csv, messages.jsonl, events.jsonl, ics, mbox."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["files"]
    path: Path = Field(description="the data directory")
    outbox: Path | None = Field(None, description="where holds.ics and digests go; default DIR/outbox")

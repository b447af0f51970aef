"""Settings for ``source: {type: microsoft}``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class MicrosoftSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["microsoft"]
    tenant_id: str

"""Settings for ``source: {type: google}``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class GoogleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["google"]
    domain: str

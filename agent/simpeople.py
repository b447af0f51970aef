"""Simulated people for ``bridgework simulate``: how they answer holds and keep in touch.

Every choice is drawn from one seeded generator, so the same seed gives the
same run. Nothing here knows the engine: it is given the holds that appeared
on the calendar and says what the people do about them, and when.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import Response


class Behaviour(BaseModel):
    """How the simulated people behave (the simulator's assumptions, all stated)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accept_rate: float = Field(0.6, ge=0, le=1, description="share of invitees who accept")
    decline_share: float = Field(
        0.5, ge=0, le=1, description="of those who do not accept, the share who decline "
        "(the others never answer)")
    conflict_rate: float = Field(
        0.1, ge=0, le=1, description="chance that an invitee books something else over a hold "
        "before answering")
    keep_in_touch: float = Field(
        0.5, ge=0, le=1, description="chance that two people who met keep writing to each other")
    touch_per_week: float = Field(
        1.5, ge=0, description="messages a week between two people who keep in touch")
    answer_days: float = Field(2.0, gt=0, description="most days an invitee takes to answer")


class Act(StrEnum):
    ANSWER = "answer"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Reaction:
    """Something a simulated person does to a hold at a given moment."""

    at: dt.datetime
    act: Act
    hold_id: str
    email: str
    response: Response | None = None  # for ANSWER


class People:
    """Draws the people's reactions; one generator for the whole run."""

    def __init__(self, behaviour: Behaviour, seed: int) -> None:
        self.behaviour = behaviour
        self.rng = np.random.default_rng(seed)

    def react(self, hold_id: str, invitees: list[str], start: dt.datetime,
              now: dt.datetime) -> list[Reaction]:
        """What the invitees of a hold that just appeared will do, and when.

        Answers come before the hold would be released unanswered (three hours
        ahead at the latest), so the acceptance rate is the one configured.
        """
        b, rng = self.behaviour, self.rng
        latest = start - dt.timedelta(hours=3)
        out: list[Reaction] = []
        for email in invitees:
            span = max((min(now + dt.timedelta(days=b.answer_days), latest) - now).total_seconds(),
                       3600.0)
            answer_at = now + dt.timedelta(seconds=float(rng.uniform(600.0, span)))
            if rng.random() < b.conflict_rate:
                before = float(rng.uniform(0.0, (answer_at - now).total_seconds()))
                out.append(Reaction(now + dt.timedelta(seconds=before), Act.CONFLICT, hold_id,
                                    email))
            draw = rng.random()
            if draw < b.accept_rate:
                response: Response | None = Response.ACCEPTED
            elif draw < b.accept_rate + (1 - b.accept_rate) * b.decline_share:
                response = Response.DECLINED
            else:
                response = None  # never answers
            if response is not None:
                out.append(Reaction(answer_at, Act.ANSWER, hold_id, email, response))
        return out

    def keeps_in_touch(self) -> bool:
        return bool(self.rng.random() < self.behaviour.keep_in_touch)

    def messages_in_week(self, monday: dt.datetime) -> list[dt.datetime]:
        """When two people who keep in touch write in one week (working hours, UTC)."""
        count = int(self.rng.poisson(self.behaviour.touch_per_week))
        return [monday + dt.timedelta(days=int(self.rng.integers(0, 5)),
                                      hours=float(self.rng.uniform(9.0, 17.0)))
                for _ in range(count)]

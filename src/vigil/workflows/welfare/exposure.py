"""Each person's exposure (reveals and minutes, today and this week) and the agency threshold.

Days and weeks are UTC calendar days and ISO weeks (from Monday). Past the threshold a person
is asked to take a break and the supervisors of their agency see it on their own pages.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from vigil.errors import UsageError
from vigil.store import audit
from vigil.store.db import Actor
from vigil.store.models import MediaReveal, User, WelfarePolicy, utcnow

DEFAULT_REVEALS_PER_DAY = 20
DEFAULT_MINUTES_PER_DAY = 30


@dataclass(frozen=True)
class Threshold:
    reveals_per_day: int
    minutes_per_day: int


@dataclass(frozen=True)
class Exposure:
    """One person's meter. ``over_threshold`` means: suggest a break, tell the supervisor."""

    user_id: int
    username: str
    reveals_today: int
    minutes_today: float
    reveals_week: int
    minutes_week: float
    threshold: Threshold
    over_threshold: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def day_and_week_start(now: datetime) -> tuple[datetime, datetime]:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day - timedelta(days=day.weekday())


def agency_threshold(session: Session, agency_id: int) -> Threshold:
    policy = session.scalars(
        select(WelfarePolicy).where(WelfarePolicy.agency_id == agency_id)
    ).first()
    if policy is None:
        return Threshold(DEFAULT_REVEALS_PER_DAY, DEFAULT_MINUTES_PER_DAY)
    return Threshold(policy.reveals_per_day, policy.minutes_per_day)


def set_threshold(
    session: Session, actor: Actor, reveals_per_day: int, minutes_per_day: int
) -> Threshold:
    """An agency setting (admin): the point past which a break is suggested."""
    if not (1 <= reveals_per_day <= 1000 and 1 <= minutes_per_day <= 1440):
        raise UsageError("the threshold must be 1-1000 reveals and 1-1440 minutes a day")
    policy = session.scalars(
        select(WelfarePolicy).where(WelfarePolicy.agency_id == actor.agency_id)
    ).first()
    if policy is None:
        policy = WelfarePolicy(agency_id=actor.agency_id)
        session.add(policy)
    policy.reveals_per_day = reveals_per_day
    policy.minutes_per_day = minutes_per_day
    policy.updated_by = actor.user_id
    policy.updated_at = utcnow()
    session.flush()
    audit.append(
        session,
        actor,
        "welfare.threshold",
        "agency",
        actor.agency_id,
        {"reveals_per_day": reveals_per_day, "minutes_per_day": minutes_per_day},
    )
    return Threshold(reveals_per_day, minutes_per_day)


def _meters(session: Session, agency_id: int, user_id: int | None, now: datetime) -> list[Exposure]:
    day, week = day_and_week_start(now)
    today = MediaReveal.revealed_at >= day
    query = (
        select(
            User.id,
            User.username,
            func.count(MediaReveal.id).filter(today),
            func.coalesce(func.sum(case((today, MediaReveal.seconds_on_screen), else_=0.0)), 0),
            func.count(MediaReveal.id),
            func.coalesce(func.sum(MediaReveal.seconds_on_screen), 0),
        )
        .select_from(User)
        .outerjoin(
            MediaReveal, (MediaReveal.user_id == User.id) & (MediaReveal.revealed_at >= week)
        )
        .where(User.agency_id == agency_id)
        .group_by(User.id, User.username)
        .order_by(User.username)
    )
    if user_id is not None:
        query = query.where(User.id == user_id)
    threshold = agency_threshold(session, agency_id)
    meters = []
    for uid, username, n_today, s_today, n_week, s_week in session.execute(query):
        minutes_today = round(float(s_today) / 60, 1)
        meters.append(
            Exposure(
                user_id=uid,
                username=username,
                reveals_today=int(n_today),
                minutes_today=minutes_today,
                reveals_week=int(n_week),
                minutes_week=round(float(s_week) / 60, 1),
                threshold=threshold,
                over_threshold=int(n_today) >= threshold.reveals_per_day
                or minutes_today >= threshold.minutes_per_day,
            )
        )
    return meters


def my_exposure(session: Session, actor: Actor, now: datetime | None = None) -> Exposure:
    return _meters(session, actor.agency_id, actor.user_id, now or utcnow())[0]


def agency_exposure(session: Session, actor: Actor, now: datetime | None = None) -> list[Exposure]:
    """Every person of the actor's agency, for their supervisor (who has revealed anything
    this week first; then by name)."""
    meters = _meters(session, actor.agency_id, None, now or utcnow())
    return sorted(meters, key=lambda m: (not m.over_threshold, -m.reveals_week, m.username))

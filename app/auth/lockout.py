"""Failed-login lockout, counted so that concurrent guesses cannot outrun it.

An attempt is reserved (counted as a failure) by one conditional UPDATE before its password is
checked, and only a reserved attempt is checked: however many guesses arrive at once, at most
`threshold` of them per window are ever verified against the account's hash. The reservation
that reaches the threshold also locks the account for the window; a correct password clears
the count. A locked account answers ACCOUNT_LOCKED, with the time its lock ends, to every
attempt, right password or not, and no password is checked against it (resolvers/auth.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import User


async def reserve_attempt(
    session: AsyncSession, user_id: str, now: datetime, threshold: int, window: timedelta
) -> bool:
    """Count one attempt on the account; False (nothing counted) when it is locked or this
    window's attempts are spent. Commit before checking the password, so others see it."""
    stamp = User.first_failed_at.type
    fresh = or_(User.first_failed_at.is_(None), User.first_failed_at <= literal(now - window, stamp))
    count = case((fresh, 1), else_=User.failed_logins + 1)
    reserved = await session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.locked_until.is_(None), User.locked_until <= literal(now, stamp)),
            or_(fresh, User.failed_logins < threshold),
        )
        .values(
            failed_logins=count,
            first_failed_at=case((fresh, literal(now, stamp)), else_=User.first_failed_at),
            locked_until=case((count >= threshold, literal(now + window, stamp)), else_=None),
        )
        .execution_options(synchronize_session=False)
    )
    return reserved.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def clear(session: AsyncSession, user_id: str) -> None:
    """A correct password: the account's failures are forgiven."""
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(failed_logins=0, first_failed_at=None, locked_until=None)
        .execution_options(synchronize_session=False)
    )


async def last_lock_end(session: AsyncSession, user_ids: list[str]) -> datetime | None:
    """When the last of these accounts' locks ends (None: none is locked), read afresh: another
    attempt may have locked one since it was loaded."""
    ends = (await session.execute(select(User.locked_until).where(User.id.in_(user_ids)))).scalars().all()
    return max((end for end in ends if end is not None), default=None)

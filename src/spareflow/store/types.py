"""Column types that behave the same on SQLite and PostgreSQL.

Quantities and money are exact decimals stored as scaled integers: a ledger whose on-hand
must equal the sum of its moves cannot live with binary floating point, and SQLite has no
native decimal. Times are timezone-aware UTC on the way out, whatever the backend keeps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

QUANTITY_PLACES = 3
MONEY_PLACES = 4


class _Scaled(TypeDecorator[Decimal]):
    """A Decimal with a fixed number of places, kept as an integer count of the smallest unit."""

    impl = BigInteger
    cache_ok = True
    places = 0

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.places)


class Quantity(_Scaled):
    """A stock quantity in the item's unit of measure, exact to 0.001."""

    places = QUANTITY_PLACES
    cache_ok = True


class Money(_Scaled):
    """An amount of money, exact to 0.0001."""

    places = MONEY_PLACES
    cache_ok = True


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored as UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {value!r}")
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()} has no time zone; give an offset")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)

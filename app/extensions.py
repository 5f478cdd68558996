"""Flask extensions, created unbound (the app factory binds them), the shared column
types, and the organisation's calendar (today, dates in its time zone, adding months and
years)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Calendar:
    zone = ZoneInfo("Asia/Shanghai")  # create_app sets QDMS_TIMEZONE


def set_timezone(name: str) -> None:
    _Calendar.zone = ZoneInfo(name)


def local_zone() -> ZoneInfo:
    """The organisation's time zone (QDMS_TIMEZONE)."""
    return _Calendar.zone


def local_today() -> date:
    """Today in the organisation's time zone (QDMS_TIMEZONE), neither the server's nor
    UTC's: the day that numbers ({yyyy}), effective dates, due dates and retention are
    reckoned in — at 02:00 in Shanghai it is already tomorrow, while UTC is still on
    yesterday."""
    return datetime.now(_Calendar.zone).date()


def local_date(moment: datetime) -> date:
    """The organisation's calendar day (QDMS_TIMEZONE) of a stored UTC timestamp."""
    return moment.astimezone(_Calendar.zone).date()


def local_day_start(day: date) -> datetime:
    """The UTC moment the organisation's calendar day ``day`` begins (QDMS_TIMEZONE)."""
    return datetime.combine(day, time(), tzinfo=_Calendar.zone).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (negative: back), kept within the month: 31 January
    plus one month is 28 (or 29) February. Periodic reviews and currency checks."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(start: date, years: int) -> date:
    """``start`` moved by ``years``; 29 February becomes 28 February. Retention periods."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

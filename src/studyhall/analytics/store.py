"""The activity store: records written to `activity_events` exactly once each, and its upkeep.

`store()` runs in the caller's transaction (a request in embedded mode, a worker's batch in
broker mode, an outbox handler for server events): it claims each record's key in
`activity_event_keys` (`INSERT ... ON CONFLICT DO NOTHING RETURNING`), writes only the rows
whose key it claimed, and folds those into the rollups. Two transactions storing the same
event wait on the key's index entry; the second finds it taken once the first commits, and
a rollback releases it, so an event is stored once whatever retries and processes do.

On PostgreSQL the keys are claimed by one statement taking the whole batch as arrays
(`unnest`), the rows are written by one binary `COPY`, and `activity_events` is partitioned by
month: `ensure_partitions` makes a month's partition
before the first row of that month is written (and the periodic upkeep makes the coming
months' ahead of time); retention drops whole partitions. SQLite has one plain table.
"""

from __future__ import annotations

import uuid
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, cast

import structlog
from sqlalchemy import Table, delete, insert, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from studyhall.analytics import rollups
from studyhall.analytics.models import ActivityEvent, ActivityEventKey
from studyhall.analytics.records import ActivityRecord, ActivitySource
from studyhall.core import jsonbytes
from studyhall.core.clock import utcnow
from studyhall.core.metrics import METRICS_INFO_KEY, Metrics

logger = structlog.get_logger(__name__)

_events = cast(Table, ActivityEvent.__table__)
_keys = cast(Table, ActivityEventKey.__table__)

PARTITION_SCHEMA: Final = "activity_partitions"
#: Months made ahead of the current one by the periodic upkeep.
MONTHS_AHEAD: Final = 2
#: A partition is created or dropped under this advisory lock, waiting at most this long for
#: the table lock (writers hold it only for their short transactions).
PARTITION_LOCK_ID: Final = zlib.crc32(b"studyhall.activity_partitions")
PARTITION_LOCK_TIMEOUT: Final = "5s"


@dataclass(frozen=True, slots=True)
class Arrival:
    """Records that reached the API together (one request), and when."""

    records: Sequence[ActivityRecord]
    received_at: datetime


class _DedupKeys(dict[uuid.UUID, str]):
    """The dedup keys of one batch's records: client ids are unique per user (`<user id>:<event
    id>`), server ids (`outbox:<id>`) are unique as they are. A batch names few users many
    times, so each user's prefix is made once."""

    def __missing__(self, user_id: uuid.UUID) -> str:
        prefix = self[user_id] = f"{user_id}:"
        return prefix

    def of(self, record: ActivityRecord) -> str:
        if record.source == ActivitySource.SERVER:
            return record.event_id
        return self[record.user_id] + record.event_id


async def store(session: AsyncSession, arrivals: Sequence[Arrival]) -> list[ActivityRecord]:
    """Store the records not stored before, in the session's transaction; returns those
    (in key order), already applied to the rollups. Repeats, in these arrivals or stored
    earlier, are skipped."""
    keys = _DedupKeys()
    pending = sorted(
        (
            (keys.of(record), record, arrival.received_at)
            for arrival in arrivals
            for record in arrival.records
        ),
        key=lambda entry: entry[0],  # one lock order for every transaction: no deadlocks
    )
    if not pending:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        months = {(record.occurred_at.year, record.occurred_at.month) for _, record, _ in pending}
        await ensure_partitions(_engine(session), [date(year, month, 1) for year, month in months])
    claim = _claim_keys_postgres if postgres else _claim_keys_sqlite
    claimed = await claim(session, [(key, record.occurred_at) for key, record, _ in pending])
    taken: list[tuple[ActivityRecord, datetime]] = []
    for key, record, received_at in pending:
        if key in claimed:
            claimed.discard(key)  # the first of several copies in these arrivals
            taken.append((record, received_at))
    stored_at = utcnow()
    if taken:
        write = _write_events_postgres if postgres else _write_events_sqlite
        await write(session, taken, stored_at)
    new = [record for record, _ in taken]
    await rollups.apply_events(session, new)
    _observe(session.info.get(METRICS_INFO_KEY), taken, len(pending) - len(taken), stored_at)
    return new


def _engine(session: AsyncSession) -> AsyncEngine:
    bind = session.bind
    assert isinstance(bind, AsyncEngine), "activity sessions are bound to the engine"
    return bind


def _observe(
    metrics: Metrics | None,
    taken: list[tuple[ActivityRecord, datetime]],
    duplicates: int,
    stored_at: datetime,
) -> None:
    if metrics is None:
        return
    by_source = Counter(record.source for record, _ in taken)
    for source, count in by_source.items():
        metrics.activity_stored.labels(source).inc(count)
    # The records of one arrival share its arrival time, and so their latency.
    for received_at, events in Counter(received_at for _, received_at in taken).items():
        latency = max(0.0, (stored_at - received_at).total_seconds())
        metrics.activity_latency.observe_repeated(latency, events)
    if duplicates:
        metrics.activity_duplicates.labels("store").inc(duplicates)


# -- PostgreSQL: one statement per table for the whole batch --------------------------------

_CLAIM_KEYS_POSTGRES = text(
    "INSERT INTO activity_event_keys (dedup_key, occurred_at) "
    "SELECT * FROM unnest(CAST(:keys AS varchar[]), CAST(:occurred AS timestamptz[])) "
    "ON CONFLICT DO NOTHING RETURNING dedup_key"
)
#: The columns `_write_events_postgres` copies, in order.
EVENT_COLUMNS = (
    "occurred_at",
    "event_id",
    "event_type",
    "source",
    "user_id",
    "course_id",
    "lesson_id",
    "data",
    "metadata",
    "received_at",
    "stored_at",
)


async def _claim_keys_postgres(session: AsyncSession, keys: list[tuple[str, datetime]]) -> set[str]:
    result = await session.execute(
        _CLAIM_KEYS_POSTGRES,
        {"keys": [key for key, _ in keys], "occurred": [occurred for _, occurred in keys]},
    )
    return set(result.scalars())


async def _write_events_postgres(
    session: AsyncSession, taken: list[tuple[ActivityRecord, datetime]], stored_at: datetime
) -> None:
    """A binary `COPY` into the partitioned table (PostgreSQL routes each row to its month),
    on the session's connection and in its transaction: every key was just claimed, so no row
    can conflict, and `COPY` takes rows at a fraction of an `INSERT`'s cost per row."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None, "activity sessions hold a connection"
    rows = [
        (
            record.occurred_at,
            record.event_id,
            record.event_type,
            record.source.value,
            record.user_id,
            record.course_id,
            record.lesson_id,
            jsonbytes.dumps(record.data).decode(),
            jsonbytes.dumps(record.metadata).decode(),
            received_at,
            stored_at,
        )
        for record, received_at in taken
    ]
    await driver.copy_records_to_table("activity_events", records=rows, columns=EVENT_COLUMNS)


# -- SQLite: plain multi-row statements -----------------------------------------------------

_CLAIM_KEYS_SQLITE = sqlite.insert(_keys).on_conflict_do_nothing().returning(_keys.c.dedup_key)


async def _claim_keys_sqlite(session: AsyncSession, keys: list[tuple[str, datetime]]) -> set[str]:
    result = await session.execute(
        _CLAIM_KEYS_SQLITE, [{"dedup_key": key, "occurred_at": occurred} for key, occurred in keys]
    )
    return set(result.scalars())


async def _write_events_sqlite(
    session: AsyncSession, taken: list[tuple[ActivityRecord, datetime]], stored_at: datetime
) -> None:
    await session.execute(
        insert(_events),
        [
            {
                "occurred_at": record.occurred_at,
                "event_id": record.event_id,
                "event_type": record.event_type,
                "source": str(record.source),
                "user_id": record.user_id,
                "course_id": record.course_id,
                "lesson_id": record.lesson_id,
                "data": record.data,
                "metadata": record.metadata,
                "received_at": received_at,
                "stored_at": stored_at,
            }
            for record, received_at in taken
        ],
    )


# -- monthly partitions (PostgreSQL) --------------------------------------------------------


def month_of(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"activity_events_{month:%Y_%m}"


def _bound(month: date) -> str:
    return datetime(month.year, month.month, 1, tzinfo=UTC).isoformat()


#: Months whose partition exists, by database URL: this process never creates one twice.
_known_months: dict[str, set[date]] = {}


def _known(engine: AsyncEngine) -> set[date]:
    return _known_months.setdefault(engine.url.render_as_string(hide_password=True), set())


async def ensure_partitions(engine: AsyncEngine, months: Iterable[date]) -> list[date]:
    """Create the partitions of these months that do not exist yet (each in a short
    transaction of its own, under an advisory lock, so concurrent processes agree); returns
    the months it created."""
    known = _known(engine)
    missing = sorted(set(months) - known)
    created = []
    for month in missing:
        async with engine.begin() as conn:
            await _lock_partitions(conn)
            exists = await conn.scalar(
                text("SELECT to_regclass(:name) IS NOT NULL"),
                {"name": f"{PARTITION_SCHEMA}.{partition_name(month)}"},
            )
            if not exists:
                await conn.execute(text(_create_partition_sql(month)))
                created.append(month)
                logger.info("activity_partition_created", partition=partition_name(month))
        known.add(month)
    return created


def _create_partition_sql(month: date) -> str:
    name = f"{PARTITION_SCHEMA}.{partition_name(month)}"
    bounds = f"FROM ('{_bound(month)}') TO ('{_bound(add_months(month, 1))}')"
    return f"CREATE TABLE {name} PARTITION OF activity_events FOR VALUES {bounds}"


async def _lock_partitions(conn: Any) -> None:
    await conn.execute(text(f"SET LOCAL lock_timeout = '{PARTITION_LOCK_TIMEOUT}'"))
    await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PARTITION_LOCK_ID})


async def partition_months(engine: AsyncEngine) -> list[date]:
    """The months that have a partition, oldest first."""
    async with engine.connect() as conn:
        names = await conn.scalars(
            text(
                "SELECT child.relname FROM pg_inherits "
                "JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
                "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
                "WHERE parent.relname = 'activity_events'"
            )
        )
        return sorted(datetime.strptime(name, "activity_events_%Y_%m").date() for name in names)


# -- upkeep: partitions ahead, retention ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Upkeep:
    created: list[date]
    dropped: list[date]
    deleted_rows: int


async def maintain(engine: AsyncEngine, retention_months: int, now: datetime | None = None) -> Upkeep:
    """Make the partitions of this month and the next `MONTHS_AHEAD`, and remove the events
    (and their keys) of the months before the last `retention_months` (this one included):
    whole partitions on PostgreSQL, rows on SQLite. Safe to run in several processes."""
    this_month = month_of(now or utcnow())
    cutoff = add_months(this_month, 1 - retention_months)
    cutoff_at = datetime(cutoff.year, cutoff.month, 1, tzinfo=UTC)
    if engine.dialect.name != "postgresql":
        async with engine.begin() as conn:
            deleted = await conn.execute(delete(_events).where(_events.c.occurred_at < cutoff_at))
            await conn.execute(delete(_keys).where(_keys.c.occurred_at < cutoff_at))
        return Upkeep([], [], deleted.rowcount or 0)
    created = await ensure_partitions(engine, [add_months(this_month, n) for n in range(MONTHS_AHEAD + 1)])
    dropped = [month for month in await partition_months(engine) if month < cutoff]
    for month in dropped:
        async with engine.begin() as conn:
            await _lock_partitions(conn)
            await conn.execute(text(f"DROP TABLE IF EXISTS {PARTITION_SCHEMA}.{partition_name(month)}"))
        _known(engine).discard(month)
        logger.info("activity_partition_dropped", partition=partition_name(month))
    async with engine.begin() as conn:
        await conn.execute(delete(_keys).where(_keys.c.occurred_at < cutoff_at))
    return Upkeep(created, dropped, 0)

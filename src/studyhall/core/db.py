"""Database engine, sessions, the declarative base and the model mixins every domain uses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData, Select, delete, event, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    InstrumentedAttribute,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.types import TypeDecorator, Uuid

from studyhall.config import Settings
from studyhall.core.clock import utcnow
from studyhall.core.errors import DatabaseUnavailable, DomainError

#: Seconds a request waits for the embedded database's one connection before failing.
SQLITE_QUEUE_TIMEOUT = 30.0

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())


class SoftDelete:
    """Rows are flagged, never removed; `deletion_id` groups what one delete removed."""

    deleted_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    deletion_id: Mapped[uuid.UUID | None] = mapped_column(default=None)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Take over transaction control from the driver, which would otherwise only BEGIN at
    # the first write: reads before it would run outside the transaction (lost updates) and
    # SAVEPOINTs would misbehave. See `_begin_immediate`.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    """SQLite has no row locks: each transaction takes the write lock up front, so
    read-then-write transactions run one after another (waiting up to busy_timeout)
    instead of failing or overwriting each other. Reads (`READ_ONLY`) take no lock."""
    if not connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(settings: Settings) -> AsyncEngine:
    """`hide_parameters`: bound values (password hashes, tokens, personal data) never appear in
    error messages or in the `DATABASE_ECHO` log; statements still do."""
    if settings.is_sqlite:
        _ensure_sqlite_dir(settings.database_url)
        # One connection: every transaction takes SQLite's write lock up front, so a process
        # gains nothing from more, and its requests then queue for the connection in order
        # instead of polling for the lock (the busy handler sleeps, and gives up after
        # `timeout`); other processes on the same file still wait on the lock itself.
        engine = create_async_engine(
            settings.database_url,
            echo=settings.database_echo,
            hide_parameters=True,
            poolclass=AsyncAdaptedQueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=SQLITE_QUEUE_TIMEOUT,
            connect_args={"timeout": 5},
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    engine = create_async_engine(
        settings.database_url,
        echo=settings.database_echo,
        hide_parameters=True,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.health_check_timeout * 4,
        connect_args={"timeout": settings.database_connect_timeout},
    )
    event.listen(engine.sync_engine.pool, "checkout", _replace_closed_connection)
    return engine


def _replace_closed_connection(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Dead connections are handled without a pre-ping round trip per checkout.

    A pooled connection the server closed (restart, `pg_terminate_backend`, idle timeout)
    is known locally: the driver saw its socket close. Raising `DisconnectionError` makes
    the pool replace it before the request sends anything. A connection that dies unseen
    (a network cut) fails its request once: `session_scope` answers 503 and SQLAlchemy
    invalidates it, and with it every older pooled connection."""
    driver = record.driver_connection
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the database closed this pooled connection")


def _ensure_sqlite_dir(url: str) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


#: Execution option of the connections that serve reads: no transaction around them.
READ_ONLY = "studyhall_read_only"


class WriteInReadOnlySession(RuntimeError):
    """A read-only unit of work tried to write: a programming error, so a 500 in tests,
    never a silent write outside a transaction."""


class ReadOnlySession(Session):
    """The session of a read-only unit of work. Its statements run without a transaction
    around them (PostgreSQL in autocommit; SQLite without `BEGIN IMMEDIATE`), which saves
    the BEGIN and COMMIT round trips. Under READ COMMITTED, PostgreSQL gives each statement
    its own snapshot anyway, so a sequence of SELECTs sees the same as it would inside a
    transaction; row locks (`FOR UPDATE`) would end at once, so a unit that takes one is
    not read-only. Any write raises `WriteInReadOnlySession`."""


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_write_statements(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise WriteInReadOnlySession("a read-only unit of work sent a write statement")


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise WriteInReadOnlySession("a read-only unit of work flushed changes")


def create_read_only_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return async_sessionmaker(
        engine.execution_options(**options),
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=ReadOnlySession,
    )


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """The INSERT of the session's database, with its `ON CONFLICT` clauses
    (`on_conflict_do_nothing`, `on_conflict_do_update`): PostgreSQL's or SQLite's."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def per_dialect(build: Callable[[Any], Any]) -> dict[str, Any]:
    """A statement that needs the dialect's INSERT (for its `ON CONFLICT`), built once for
    each database from `build(insert)`; `for_session` picks the session's."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}


def for_session(session: AsyncSession, statements: dict[str, Any]) -> Any:
    return statements[session.get_bind().dialect.name]


#: `Session.info` key of the application's `Settings`: outbox handlers, which get only a
#: session, read the configuration from there (`session_settings(session)`).
SETTINGS_INFO_KEY = "studyhall.settings"


def session_settings(session: AsyncSession) -> Settings:
    settings: Settings = session.info[SETTINGS_INFO_KEY]
    return settings


@contextmanager
def _lost_connection_is_unavailable() -> Iterator[None]:
    """A database connection lost mid-unit (SQLAlchemy has invalidated it, and the pool drops
    it) is `DatabaseUnavailable`, a 503 the client may retry."""
    try:
        yield
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailable() from exc
        raise


class Database:
    """The engine and session factory of one application instance."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        self.sessionmaker = create_session_factory(self.engine)
        self.read_only_sessionmaker = create_read_only_session_factory(self.engine)
        for factory in (self.sessionmaker, self.read_only_sessionmaker):
            factory.configure(info={SETTINGS_INFO_KEY: settings})
        #: Called with each committed session (the outbox uses it to wake its dispatcher).
        self.after_commit: list[Callable[[AsyncSession], None]] = []

    def provide(self, key: str, value: Any) -> None:
        """Make `value` available as `session.info[key]` in every session of this database."""
        info = dict(self.sessionmaker.kw.get("info") or {})
        info[key] = value
        for factory in (self.sessionmaker, self.read_only_sessionmaker):
            factory.configure(info=info)

    async def dispose(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def read_only_scope(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that only reads (`ReadOnlySession`): nothing to commit."""
        with _lost_connection_is_unavailable():
            async with self.read_only_sessionmaker() as session:
                yield session

    @asynccontextmanager
    async def session_scope(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit when the caller finishes, roll back when it raises
        (unless the error is a `DomainError` that `keeps_changes`). A database connection
        lost on the way is `DatabaseUnavailable` (503): the pool has dropped it, so a retry
        gets a fresh one; the request's changes are not committed (unless the connection
        was cut during the COMMIT itself, whose outcome nobody can know)."""
        with _lost_connection_is_unavailable():
            async with self.sessionmaker() as session:
                try:
                    yield session
                    await session.commit()
                except DomainError as exc:
                    await (session.commit() if exc.keeps_changes else session.rollback())
                    raise
                except BaseException:
                    await session.rollback()
                    raise
                for callback in self.after_commit:
                    callback(session)


#: Rows a retention job deletes per transaction.
RETENTION_BATCH = 1000


async def delete_in_batches(
    sessionmaker: async_sessionmaker[AsyncSession],
    expired: Select[Any],
    keyed_by: Sequence[InstrumentedAttribute[Any]],
) -> int:
    """Retention: deletes what `expired` selects (ids; it is limited to `RETENTION_BATCH`
    here), a batch per short transaction, so several processes may run it at once and no lock
    is held long. For each batch of ids, the rows of each attribute's model whose attribute
    holds one of them go, in the order given (dependants first); returns how many ids were
    selected."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            ids = (await session.scalars(expired.limit(RETENTION_BATCH))).all()
            if ids:
                for attribute in keyed_by:
                    await session.execute(delete(attribute.class_).where(attribute.in_(ids)))
        total += len(ids)
        if len(ids) < RETENTION_BATCH:
            return total

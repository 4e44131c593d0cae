"""The embedded database: engine, sessions and the SQLite settings several processes need.

Several `crm` processes may write at once (a cron import while someone adds a note), so:
WAL (readers never wait for a writer) unless the file sits on a network filesystem where
WAL is unsafe; a busy timeout (a writer waits for the lock instead of failing); and write
transactions begun IMMEDIATE, because a deferred transaction that reads and then writes
fails with SQLITE_BUSY_SNAPSHOT when another process wrote in between, which no busy
timeout cures. Python's sqlite3 driver is put in autocommit mode so that we, not it,
say when a transaction begins. A front end that would rather say "waiting" than sit in
silence (the dashboard) opens its writes with a short busy timeout (`session_scope`'s
`busy_ms`) and retries when `is_busy` says another writer held the lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from crmcli import indexes, migrations
from crmcli.config import Settings
from crmcli.errors import UsageError

BUSY_TIMEOUT_MS = 60_000
NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "fuse.sshfs", "afs", "ceph"}


def _filesystem_type(path: Path) -> str:
    """The type of the filesystem holding `path`, from /proc/mounts ('' if unknown)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return ""
    best, kind = "", ""
    target = str(path.resolve())
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")  # /proc/mounts escapes spaces
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, kind = mount, parts[2]
    return kind


def _dumps(value: object) -> str:
    """JSON columns as compact UTF-8 text (orjson: bulk imports write several per row)."""
    return orjson.dumps(value).decode()


def _loads(text: str | bytes) -> object:
    """JSON columns read back (orjson: a sync reads hundreds of thousands). What orjson
    refuses and the standard library takes (an integer beyond 64 bits, NaN) is read by
    the latter, so every stored value reads as before."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_engine(path: Path) -> Engine:
    journal = "DELETE" if _filesystem_type(path.parent) in NETWORK_FILESYSTEMS else "WAL"
    engine = create_engine(
        f"sqlite:///{path}",
        json_serializer=_dumps,
        json_deserializer=_loads,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA journal_mode = {journal}")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        options = connection.get_execution_options()
        # every transaction says how long it waits: a pooled connection keeps the setting
        connection.exec_driver_sql(
            f"PRAGMA busy_timeout = {int(options.get('crm_busy_ms', BUSY_TIMEOUT_MS))}")
        connection.exec_driver_sql(f"BEGIN {options.get('crm_begin', 'IMMEDIATE')}")

    return engine


class Database:
    """One database file and the engines that reach it.

    `writer` begins transactions IMMEDIATE; `reader` begins them DEFERRED so that lists and
    shows never wait for a writer.
    """

    def __init__(self, path: Path, region: str = "CN"):
        self.path = path
        self.region = region
        self.writer = make_engine(path)
        self.reader = self.writer.execution_options(crm_begin="DEFERRED")

    @property
    def attachments_dir(self) -> Path:
        return self.path.parent / "attachments"

    @classmethod
    def create(cls, settings: Settings) -> Database:
        """Create (or bring up to date) the database file; used by `crm init`."""
        settings.db_path.parent.mkdir(parents=True, exist_ok=True)
        database = cls(settings.db_path, settings.region)
        database.migrate()
        return database

    @classmethod
    def open(cls, settings: Settings) -> Database:
        """Open an existing database, applying migrations a newer crmcli brought."""
        if not settings.db_path.exists():
            raise UsageError(
                f"no database at {settings.db_path}; create it with "
                "`crm init --user HANDLE --name NAME --dept DEPT`"
            )
        database = cls(settings.db_path, settings.region)
        try:
            with database.reader.connect() as conn:
                behind = migrations.pending(conn)
                unbuilt = behind < migrations.LATEST and bool(indexes.recorded(conn))
        except DatabaseError as error:
            database.dispose()
            raise UsageError(
                f"{settings.db_path} is not a database crmcli can open ({error.orig}); "
                "check --db / CRM_DB"
            ) from None
        if behind == migrations.LATEST:
            raise UsageError(
                f"{settings.db_path} is not a crmcli database yet; run "
                "`crm init --user HANDLE --name NAME --dept DEPT`"
            )
        if behind or unbuilt:
            database.migrate()
        return database

    def migrate(self) -> None:
        """Apply the missing migrations, and build the indexes a first sync cut off in the
        middle left unbuilt (`indexes.py`)."""
        with self.writer.begin() as conn:
            migrations.migrate(conn)
            indexes.restore(conn)

    def dispose(self) -> None:
        self.writer.dispose()


SQLITE_BUSY, SQLITE_LOCKED = 5, 6
# What a database (or the attachment store beside it) that fails raises: for front ends
# that report a failure and carry on instead of ending.
FAILURES = (SQLAlchemyError, OSError)


def is_busy(error: BaseException) -> bool:
    """Whether `error` says another connection held the lock past the busy timeout
    (nothing of the transaction was written: it can simply be tried again)."""
    code = getattr(getattr(error, "orig", None), "sqlite_errorcode", None)
    return isinstance(error, OperationalError) and code is not None and (
        code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED))


@contextmanager
def session_scope(
    database: Database, *, write: bool = True, busy_ms: int | None = None
) -> Iterator[Session]:
    """One transaction: committed if the block ends normally, rolled back if it raises.

    The front end owns the scope (one per CLI command, one per TUI worker); repository
    functions never commit on their own. `busy_ms` shortens how long it waits for another
    writer (default BUSY_TIMEOUT_MS) before `is_busy` fails it.
    """
    engine = database.writer if write else database.reader
    if busy_ms is not None:
        engine = engine.execution_options(crm_busy_ms=busy_ms)
    with Session(engine, expire_on_commit=False) as session:
        session.info["region"] = database.region
        session.info["attachments_dir"] = database.attachments_dir
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def region(session: Session) -> str:
    """The default phone region of the database a session is bound to."""
    return session.info.get("region", "CN")

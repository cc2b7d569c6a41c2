"""Database connections and the numbered SQL migrations in migrations/."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sqlite_utils import Database, Migrations
from sqlite_utils.utils import dedupe_keys

from fieldlog.resources import resource_dir

MIGRATION_SET = "fieldlog"
CACHE_KIB = 8 * 1024   # page cache of each connection (PRAGMA cache_size, in KiB)
T = TypeVar("T")

# Inside a write, SQLite's temporary files (the statement journal of an INSERT whose triggers write other tables,
# the rows an INSERT ... SELECT into a table with triggers materializes first) are kept in memory: on disk each
# submission created, wrote and unlinked a file in /var/tmp (about 0.3 ms of 1.6–1.9 ms in-process, measured).
# A write's temporary data is a few rows; reads keep the default, where a large sort spills to disk, not to memory.
TEMP_IN_MEMORY = "PRAGMA temp_store = MEMORY"


@contextmanager
def _temp_in_memory(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute(TEMP_IN_MEMORY)
    try:
        yield
    finally:
        conn.execute("PRAGMA temp_store = DEFAULT")


# One writer at a time inside this process: threads queue here instead of in SQLite's busy handler,
# whose back-off sleeps (up to 100 ms) made the tail of concurrent event submissions long.
WRITE_LOCK = threading.Lock()


@contextmanager
def write(db: Database) -> Iterator[Database]:
    """The one way the app writes: a transaction that holds the write lock from its first statement.

    Takes WRITE_LOCK (one writer per process), then BEGIN IMMEDIATE (one writer per database file, other
    processes such as the command line wait in the busy handler), commits at the end and rolls back on any
    exception. Reads inside the block see the state the writes apply to: a "count, then insert" cannot be
    overtaken, and a transaction never has to upgrade a read lock to a write lock, which is what fails at once
    with "database is locked" under concurrency. Inside an open transaction (nested use) it is a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    with WRITE_LOCK, _temp_in_memory(db.conn):
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.conn.rollback()
            raise
        try:
            db.conn.execute("COMMIT")
        except BaseException:
            db.conn.rollback()
            raise


class _Queued:
    """One caller's work waiting for a grouped write, and what came of it."""

    __slots__ = ("work", "done", "result", "error")

    def __init__(self, work):
        self.work, self.done, self.result, self.error = work, False, None, None


_pending: dict[str, list[_Queued]] = {}
_pending_lock = threading.Lock()


def write_grouped(db: Database, work: Callable[[Database], T]) -> T:
    """Run `work(db)` in a write transaction shared with the other callers waiting for the lock (group commit).

    The caller queues its work and takes WRITE_LOCK; whoever gets it runs every queued work of the same
    database file in one transaction, each in its own SAVEPOINT (an exception undoes that work alone and is
    raised in its caller's thread), then commits once: one fsync for all of them, instead of one each while
    the others wait. A caller whose work was done by another's transaction finds it done when it gets the
    lock, and returns (or raises) only then, after the COMMIT: nothing is acknowledged before it is durable.
    `work` must use only the connection it is given (it may run in another thread, on another connection).
    A connection of a Pool hands the batch to the pool's writer connection (Pool.writer). Inside an open
    transaction (nested use) the work runs there, in a savepoint.
    """
    key = getattr(db, "fieldlog_path", None)
    if db.conn.in_transaction or key is None:
        with write(db):
            return work(db)
    item = _Queued(work)
    with _pending_lock:
        _pending.setdefault(key, []).append(item)
    with WRITE_LOCK:
        if not item.done:
            with _pending_lock:
                batch = _pending.pop(key, [])
            pool = getattr(db, "fieldlog_pool", None)
            if pool is not None:
                _run_batch(pool.writer(), batch)
            else:
                with _temp_in_memory(db.conn):
                    _run_batch(db, batch)
    if item.error is not None:
        raise item.error
    return item.result


def _run_batch(db: Database, batch: list[_Queued]) -> None:
    """Inside WRITE_LOCK: every work of `batch` in one transaction, each in a savepoint; one COMMIT."""
    conn = db.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
        for item in batch:
            conn.execute("SAVEPOINT grouped")
            try:
                item.result = item.work(db)
            except Exception as exc:
                conn.execute("ROLLBACK TO grouped")
                item.error = exc
            conn.execute("RELEASE grouped")
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.rollback()
        for item in batch:  # nothing of the batch is stored: each caller gets the error
            item.result, item.error = None, item.error or exc
        raise
    finally:
        for item in batch:
            item.done = True


def connect(path: str | Path) -> Database:
    """Open the database with the pragmas fieldlog relies on: WAL, synchronous=FULL, foreign keys, busy timeout."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: a commit acknowledged to a phone survives a power cut (NOTES.md).
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    # 8 MB of page cache a connection instead of SQLite's 2 MB: an index keyed by a random id (event_inspectors,
    # events' own) spreads one day's rows over as many leaf pages, and at 10 M events a phone's home checking its
    # inspector on ~800 of them went back to the file for most (1.55 -> 0.70 ms). A cache fills only as it is used;
    # at most Pool.size connections a process hold one.
    conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
    conn.row_factory = None
    db = Database(conn, execute_plugins=False)
    db.fieldlog_path = str(path.resolve())  # write_grouped groups the works of one database file
    return db


def split_statements(sql: str) -> list[str]:
    """Split a SQL script into complete statements (triggers with inner semicolons stay whole)."""
    statements, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip() and not all(l.strip().startswith("--") for l in buf.strip().splitlines()):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {buf.strip()[:60]}")
    return statements


def migration_files(folder: Path | None = None) -> list[Path]:
    """The numbered .sql files, in order."""
    folder = folder or resource_dir("migrations")
    return sorted(folder.glob("[0-9][0-9][0-9]_*.sql"))


CHECKSUMS = "CHECKSUMS"


def checksum_problems(folder: Path | None = None) -> list[str]:
    """What breaks the rule that a landed migration is never edited, checked against `folder`/CHECKSUMS.

    Each line of CHECKSUMS is `sha256  file name` (as `sha256sum` prints it; `#` starts a comment).
    Returns one message per migration whose content no longer has its hash, per migration file with
    no line, per line whose file is gone and per line that is not of that form; empty when all is well.
    """
    folder = folder or resource_dir("migrations")
    path = folder / CHECKSUMS
    if not path.is_file():
        return [f"{CHECKSUMS} is missing from {folder}"]
    listed, problems = {}, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not name.strip():
            problems.append(f"{CHECKSUMS} line {number} is not `sha256  file name`: {line[:80]}")
        elif name in listed:
            problems.append(f"{name} is listed twice in {CHECKSUMS}")
        else:
            listed[name] = digest
    files = {f.name: f for f in migration_files(folder)}
    for name, file in files.items():
        if name not in listed:
            problems.append(f"{name} has no line in {CHECKSUMS}: add `sha256sum {name}` in the commit that adds it")
        elif hashlib.sha256(file.read_bytes()).hexdigest() != listed[name]:
            problems.append(f"{name} changed after it landed (its sha256 is not the one in {CHECKSUMS}): "
                            "put the change in a new migration")
    for name in listed.keys() - files.keys():
        problems.append(f"{name} is listed in {CHECKSUMS} but the file is gone")
    return problems


def build_migrations(files: list[Path] | None = None) -> Migrations:
    """A sqlite-utils Migrations set with one step per SQL file, each run in its own transaction."""
    migrations = Migrations(MIGRATION_SET)
    for file in files if files is not None else migration_files():
        statements = split_statements(file.read_text(encoding="utf-8"))

        def step(db: Database, statements=statements) -> None:
            for statement in statements:
                db.execute(statement)

        migrations(name=file.stem)(step)
    return migrations


def migrate(db: Database, files: list[Path] | None = None) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    migrations = build_migrations(files)
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending


def pending_migrations(db: Database, files: list[Path] | None = None) -> list[str]:
    """The names of the migrations not yet applied to `db`, in order."""
    return [m.name for m in build_migrations(files).pending(db)]


def open_db(path: str | Path) -> Database:
    """Connect and bring the schema up to date."""
    db = connect(path)
    migrate(db)
    return db


def marks(values) -> str:
    """'?,?,?': one placeholder per value of an IN list."""
    return ",".join("?" * len(values))


def _keys(cursor: sqlite3.Cursor) -> list[str]:
    if cursor.description is None:
        raise ValueError("one() and rows() take a statement that returns rows")
    keys = [d[0] for d in cursor.description]
    return keys if len(set(keys)) == len(keys) else list(dedupe_keys(keys))  # id, id_2 as Database.query names them


def rows(db: Database, sql: str, params=()) -> list[dict]:
    """Every row of a query as dicts, straight from the cursor.

    Database.query wraps each statement in a SAVEPOINT and its RELEASE (three statements, and outside a
    transaction a read transaction begun and ended for each query) to reject statements that return no rows;
    the app's reads are SELECTs, and a hot path (a submission) makes several of them.
    """
    cursor = db.conn.execute(sql, params)
    keys = _keys(cursor)
    return [dict(zip(keys, row)) for row in cursor]


def one(db: Database, sql: str, params=()) -> dict | None:
    """First row of a query as a dict, or None (read as rows() reads)."""
    cursor = db.conn.execute(sql, params)
    keys = _keys(cursor)
    row = cursor.fetchone()
    cursor.close()  # the statement ends here, not when the cursor is collected
    return dict(zip(keys, row)) if row is not None else None


def scalar(db: Database, sql: str, params=()):
    """The first column of the first row, or None."""
    row = db.conn.execute(sql, params).fetchone()
    return row[0] if row else None


class Pool:
    """Reusable connections to one database file (opening one costs about a millisecond).

    `size` connections are kept: as many as requests run at once in the thread pool (anyio's 40), so a burst
    of submissions does not open and close a connection per request.
    """

    def __init__(self, path: str | Path, size: int = 40):
        self.path, self.size = Path(path), size
        self._free: list[Database] = []
        self._lock = threading.Lock()
        self._writer: Database | None = None

    def get(self) -> Database:
        with self._lock:
            if self._free:
                return self._free.pop()
        db = connect(self.path)
        db.fieldlog_pool = self  # write_grouped runs its batches on this pool's writer()
        return db

    def writer(self) -> Database:
        """The connection grouped writes (write_grouped) run on, used only under WRITE_LOCK.

        One connection for every batch keeps its page cache: SQLite drops a connection's whole cache when another
        connection has written since its last read, so batches run on whichever request's connection led them
        read the pages of every index they wrote again (at 16 submitting connections, 835 -> ~890 submissions/s,
        measured). It only writes, so its temporary data stays in memory (_temp_in_memory) for good.
        """
        if self._writer is None:
            self._writer = connect(self.path)
            self._writer.conn.execute(TEMP_IN_MEMORY)
        return self._writer

    def put(self, db: Database) -> None:
        """Return a connection; an unfinished transaction is rolled back first."""
        if db.conn.in_transaction:
            db.conn.rollback()
        with self._lock:
            if len(self._free) < self.size:
                self._free.append(db)
                return
        db.close()

    def close(self) -> None:
        with self._lock:
            free, self._free = self._free, []
        with WRITE_LOCK:
            writer, self._writer = self._writer, None
        for db in free + ([writer] if writer is not None else []):
            db.close()

"""Nights across time, in SQLite (stdlib sqlite3). Each row keeps the night's JSON as written, so every
report is rendered from stored JSON only; the other columns are an index for choosing nights.

A history file is marked as ours (``PRAGMA application_id``): tinyflash never writes its schema into a
database it did not create (#11.5), and :meth:`History.check` finds a damaged, foreign or read-only file
before a night runs rather than after.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from tinyflash.farm.errors import HistoryError

SCHEMA_VERSION = 1
APPLICATION_ID = 0x7446_4E48          # "tFNH": a tinyflash farm night history
_SCHEMA = """
CREATE TABLE IF NOT EXISTS nights (
    night_id  TEXT PRIMARY KEY,
    matrix    TEXT NOT NULL,
    started   TEXT NOT NULL,
    status    TEXT NOT NULL,
    json      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nights_by_matrix ON nights (matrix, started);
"""
_DAMAGED_HINT = "move the file away (keep it to inspect) and the next night starts a new history"
Connect = Callable[[Path], sqlite3.Connection]


def _connect_file(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), timeout=30)


class History:
    """``connect`` opens the database (tests pass a read-only connection, e.g. ``mode=ro``)."""

    def __init__(self, path: Path | str, *, connect: Connect = _connect_file) -> None:
        self.path = Path(path)
        self._open = connect

    @contextlib.contextmanager
    def _connect(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        if not create and not self.path.is_file():
            raise HistoryError(f"no history database at {self.path}",
                               hint="'tinyflash farm run' creates it (--history DB)")
        if self.path.exists() and not self.path.is_file():
            raise HistoryError(f"the history {self.path} is not a file", hint="give --history a file name")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._open(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open history database {self.path}: {exc}") from None
        try:
            self._adopt(conn, create)
            yield conn
            conn.commit()
        except sqlite3.DatabaseError as exc:
            raise self._database_error(exc) from None
        finally:
            conn.close()

    def _database_error(self, exc: sqlite3.DatabaseError) -> HistoryError:
        text = str(exc)
        if "readonly" in text or "read-only" in text:
            return HistoryError(f"the history {self.path} is read-only: {text}",
                                hint="make the file and its folder writable, or give --history a writable file")
        if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
            return HistoryError(f"the history {self.path} is locked by another process: {text}",
                                hint="wait for the other farm run or report to finish")
        return HistoryError(f"the history {self.path} is damaged or not an SQLite database: {text}",
                            hint=_DAMAGED_HINT)

    def _adopt(self, conn: sqlite3.Connection, create: bool) -> None:
        """Ours (marked, or a history made before the marker), empty (made ours when ``create``), or
        foreign: refused, and never written."""
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        legacy = app_id == 0 and version == SCHEMA_VERSION and tables == {"nights"}
        empty = app_id == 0 and version == 0 and not tables
        if app_id == APPLICATION_ID or legacy:
            if version != SCHEMA_VERSION:
                raise HistoryError(f"{self.path} has history schema {version}; this tinyflash reads {SCHEMA_VERSION}",
                                   hint="use the tinyflash that wrote it, or start a new history (--history)")
            if legacy and create:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            return
        if not empty:
            raise HistoryError(f"{self.path} is not a tinyflash history (application id {app_id:#x}, tables: "
                               f"{', '.join(sorted(tables)) or 'none'})",
                               hint="give --history a new file name; tinyflash never writes into another database")
        if not create:
            raise HistoryError(f"the history {self.path} is empty: it holds no night yet")
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.commit()

    def check(self) -> None:
        """Before a night: the file is a sound tinyflash history (created when missing) that we can write."""
        with self._connect(create=True) as conn:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
            if problems != ["ok"]:
                raise HistoryError(f"the history {self.path} is damaged: {'; '.join(problems[:3])}",
                                   hint=_DAMAGED_HINT)
            conn.execute("DELETE FROM nights WHERE 0")    # a write that changes nothing: fails now if read-only
            conn.rollback()

    def has(self, night_id: str) -> bool:
        if not self.path.is_file():
            return False
        with self._connect() as conn:
            return conn.execute("SELECT 1 FROM nights WHERE night_id = ?", (night_id,)).fetchone() is not None

    def remove(self, night_id: str) -> None:
        with self._connect(create=True) as conn:
            conn.execute("DELETE FROM nights WHERE night_id = ?", (night_id,))

    def add(self, night: dict[str, Any]) -> None:
        """Store a night (its JSON exactly). A night id already stored is refused: replacing a night is
        asked for when the night starts (``NightSettings.replace``), which removes the old one."""
        with self._connect(create=True) as conn:
            try:
                conn.execute("INSERT INTO nights (night_id, matrix, started, status, json) VALUES (?,?,?,?,?)",
                             (night["night_id"], night["matrix"], night["started"], night["status"],
                              json.dumps(night)))
            except sqlite3.IntegrityError:
                raise HistoryError(f"the history {self.path} already holds a night '{night['night_id']}'",
                                   hint="choose another --night-id, or pass --replace to replace it") from None

    def night_ids(self, matrix: Optional[str] = None) -> list[str]:
        with self._connect() as conn:
            if matrix is None:
                rows = conn.execute("SELECT night_id FROM nights ORDER BY started, night_id").fetchall()
            else:
                rows = conn.execute("SELECT night_id FROM nights WHERE matrix = ? ORDER BY started, night_id",
                                    (matrix,)).fetchall()
        return [r[0] for r in rows]

    def get(self, night_id: Optional[str] = None) -> dict[str, Any]:
        """A night by id; the latest one without an id."""
        with self._connect() as conn:
            if night_id is None:
                row = conn.execute("SELECT json FROM nights ORDER BY started DESC, night_id DESC LIMIT 1").fetchone()
            else:
                row = conn.execute("SELECT json FROM nights WHERE night_id = ?", (night_id,)).fetchone()
        if row is None:
            if night_id is None:
                raise HistoryError(f"the history {self.path} holds no night yet")
            known = self.night_ids()
            raise HistoryError(f"no night '{night_id}' in {self.path}",
                               hint="known nights: " + (", ".join(known[-10:]) or "none"))
        data: dict[str, Any] = json.loads(row[0])
        return data

    def before(self, night: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` finished nights of the same matrix that started before ``night``, oldest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT json FROM nights WHERE matrix = ? AND status = 'finished' AND night_id != ? AND "
                "(started < ? OR (started = ? AND night_id < ?)) ORDER BY started DESC, night_id DESC LIMIT ?",
                (night["matrix"], night["night_id"], night["started"], night["started"], night["night_id"],
                 limit)).fetchall()
        return [json.loads(r[0]) for r in reversed(rows)]

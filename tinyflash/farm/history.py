"""Nights across time, in SQLite (stdlib sqlite3). Each row keeps the night's JSON as written, so every
report is rendered from stored JSON only; the other columns are an index for choosing nights."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator, Optional

from tinyflash.farm.errors import HistoryError

SCHEMA_VERSION = 1
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


class History:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _connect(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        if not create and not self.path.is_file():
            raise HistoryError(f"no history database at {self.path}",
                               hint="'tinyflash farm run' creates it (--history DB)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(self.path), timeout=30)
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot open history database {self.path}: {exc}") from None
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.commit()
            elif version != SCHEMA_VERSION:
                raise HistoryError(f"{self.path} has history schema {version}; this tinyflash reads {SCHEMA_VERSION}")
            yield conn
            conn.commit()
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"history database {self.path}: {exc}",
                               hint="is it a tinyflash history file? move it away to start a new one") from None
        finally:
            conn.close()

    def add(self, night: dict[str, Any]) -> None:
        """Store (or replace) a night. The JSON stored is exactly the night's record."""
        with self._connect(create=True) as conn:
            conn.execute("INSERT OR REPLACE INTO nights (night_id, matrix, started, status, json) VALUES (?,?,?,?,?)",
                         (night["night_id"], night["matrix"], night["started"], night["status"], json.dumps(night)))

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

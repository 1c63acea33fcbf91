"""#11.5: the farm history and night ids. A night id is a plain name inside --out; reusing one takes
replace=True; the history is checked (sound, ours, writable) before the first job; tinyflash never writes
its schema into a foreign database; the night's JSON and reports are written even when storing fails."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path

import pytest

from tinyflash.farm.errors import FarmError, HistoryError, HistoryStoreError
from tinyflash.farm.history import APPLICATION_ID, History
from tinyflash.farm.reporting import report_from_history, report_night
from tinyflash.farm.runner import NightRunner, NightSettings

from .test_farm_reports import BASE, make_night
from .test_farm_runner import Script, configs, fake_builder


def read_only(path: Path) -> sqlite3.Connection:
    """A real read-only connection (the tests may run as root, for whom chmod does not stop writes)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def runner(tmp_path: Path, night_id: str, script: Script, *, history: History | None = None,
           replace: bool = False) -> NightRunner:
    inventory, matrix = configs(tmp_path, "  - {id: a, board: mps2-an386}\n", "exclude: [{board: mps2-an500}]\n",
                                models="[ad]")
    return NightRunner(inventory, matrix, NightSettings(out_root=tmp_path / "out", night_id=night_id,
                                                        replace=replace),
                       executor=script, builder=fake_builder(), history=history)


@pytest.mark.parametrize("night_id", ["../../x", "/abs/night", "a/b", "..", "a..b", "", "n 1", "n1\n"])
def test_a_night_id_that_is_not_a_plain_name_is_refused(tmp_path: Path, night_id: str) -> None:
    script = Script()
    (tmp_path / "farm").mkdir()
    with pytest.raises(FarmError, match="is not a plain name") as info:
        runner(tmp_path / "farm", night_id, script).run()
    assert "hint" in str(info.value) and not script.calls
    assert sorted(p.name for p in tmp_path.iterdir()) == ["farm"]        # nothing written outside --out
    assert sorted(p.name for p in (tmp_path / "farm").iterdir()) == ["farm.yaml", "m.yaml"]


def test_reusing_a_night_id_is_refused_unless_replace(tmp_path: Path) -> None:
    first = runner(tmp_path, "night1", Script()).run()
    history = History(tmp_path / "out" / "history.sqlite")
    report_night(first.data, history, first.night_dir, store=True)
    stale = first.night_dir / "jobs" / "old-job"
    stale.mkdir()
    script = Script()
    with pytest.raises(FarmError, match="night 'night1' already exists") as info:
        runner(tmp_path, "night1", script).run()
    assert "--replace" in str(info.value) and not script.calls
    assert stale.is_dir() and history.night_ids() == ["night1"]           # the first night is untouched

    again = runner(tmp_path, "night1", Script(), replace=True).run()
    assert not stale.exists()                                             # job folders are not mixed
    assert not history.has("night1")                                      # the old row went with it
    report_night(again.data, history, again.night_dir, store=True)
    assert history.night_ids() == ["night1"] and history.get("night1")["started"] == again.data["started"]


def test_the_history_never_replaces_a_stored_night_silently(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite")
    history.add(make_night("n01", copy.deepcopy(BASE)))
    with pytest.raises(HistoryError, match="already holds a night 'n01'"):
        history.add(make_night("n01", []))
    assert len(history.get("n01")["jobs"]) == len(BASE)


def test_a_truncated_history_stops_the_night_before_the_first_job(tmp_path: Path) -> None:
    path = tmp_path / "out" / "history.sqlite"
    good = History(path)
    good.add(make_night("n01", copy.deepcopy(BASE)))
    path.write_bytes(path.read_bytes()[:100])
    script = Script()
    with pytest.raises(HistoryError, match="damaged") as info:
        runner(tmp_path, "n2", script).run()
    assert "move the file away" in str(info.value) and not script.calls


def test_a_read_only_history_stops_the_night_with_the_right_hint(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    History(path).add(make_night("n01", copy.deepcopy(BASE)))
    script = Script()
    with pytest.raises(HistoryError, match="read-only") as info:
        runner(tmp_path, "n2", script, history=History(path, connect=read_only)).run()
    assert "writable" in str(info.value) and "move" not in str(info.value) and not script.calls


def test_reports_are_written_even_when_storing_fails(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    History(path).add(make_night("n01", copy.deepcopy(BASE)))
    out = tmp_path / "n02"
    with pytest.raises(HistoryStoreError, match="not stored in the history") as info:
        report_night(make_night("n02", copy.deepcopy(BASE)), History(path, connect=read_only), out, store=True)
    assert "read-only" in str(info.value)
    assert info.value.report.analysis.previous == "n01"                   # compared before storing failed
    for name in ("night.json", "junit.xml", "report.md", "report.html"):
        assert (out / name).is_file()
    assert json.loads((out / "night.json").read_text())["night_id"] == "n02"

    path.write_bytes(path.read_bytes()[:100])                             # damaged after the night ran
    out = tmp_path / "n03"
    with pytest.raises(HistoryStoreError, match="damaged"):
        report_night(make_night("n03", copy.deepcopy(BASE)), History(path), out, store=True)
    assert (out / "night.json").is_file() and (out / "report.html").is_file()


def test_a_foreign_database_is_refused_and_never_written(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="not a tinyflash history") as info:
        report_from_history(History(path), tmp_path / "out")
    assert "new file name" in str(info.value)
    with pytest.raises(HistoryError, match="not a tinyflash history"):
        History(path).check()
    with pytest.raises(HistoryError, match="not a tinyflash history"):
        History(path).add(make_night("n01", []))
    assert path.read_bytes() == before                                    # not one byte of our schema


def test_a_new_history_is_marked_and_an_unmarked_one_of_ours_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    History(path).check()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()
    legacy = tmp_path / "legacy.sqlite"          # as tinyflash wrote it before the marker
    conn = sqlite3.connect(legacy)
    conn.executescript("CREATE TABLE nights (night_id TEXT PRIMARY KEY, matrix TEXT NOT NULL, started TEXT "
                       "NOT NULL, status TEXT NOT NULL, json TEXT NOT NULL); PRAGMA user_version = 1;")
    night = make_night("n01", copy.deepcopy(BASE))
    conn.execute("INSERT INTO nights VALUES (?,?,?,?,?)", ("n01", "nightly", night["started"], "finished",
                                                           json.dumps(night)))
    conn.commit()
    conn.close()
    assert History(legacy).get()["night_id"] == "n01"


def test_a_stored_night_of_the_wrong_shape_is_a_clear_error(tmp_path: Path) -> None:
    """Parsed once into typed records (#15.6): a malformed stored night is a TinyflashError, not a KeyError."""
    history = History(tmp_path / "h.sqlite")
    night = make_night("n01", copy.deepcopy(BASE))
    night["jobs"][0]["outcome"] = "exploded"
    history.add(night)
    with pytest.raises(FarmError, match="night n01: not a tinyflash night record"):
        report_from_history(history, tmp_path / "out")

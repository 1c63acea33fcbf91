"""The shared object cache: parallel builds must be able to start on a fresh, empty cache directory."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

from tinyflash.build.scons import prepare_cache


def test_parallel_builds_initialise_an_empty_cache_once(tmp_path: Path) -> None:
    # an empty directory is what mkdir, `--cache-dir` pointed at a new folder, or a test tmp dir gives;
    # SCons alone lets every process write its config there and all but one die with FileExistsError
    cache = tmp_path / "cache"
    cache.mkdir()
    errors: list[BaseException] = []

    def init() -> None:
        try:
            prepare_cache(cache)
        except BaseException as exc:   # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=init) for _ in range(8)]
    processes = [multiprocessing.get_context("spawn").Process(target=prepare_cache, args=(cache,)) for _ in range(4)]
    for worker in (*threads, *processes):
        worker.start()
    for thread in threads:
        thread.join()
    for process in processes:
        process.join(60)
    assert not errors and [p.exitcode for p in processes] == [0] * 4
    assert json.loads((cache / "config").read_text())["prefix_len"] > 0


def test_a_missing_cache_directory_is_created_with_its_parents(tmp_path: Path) -> None:
    cache = tmp_path / "a" / "b" / "scons"
    prepare_cache(cache)
    assert (cache / "config").is_file() and (cache / "CACHEDIR.TAG").is_file()
    prepare_cache(cache)   # a second call leaves a configured cache alone

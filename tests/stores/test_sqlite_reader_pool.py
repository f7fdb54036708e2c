"""The read connections are lent first come, first served, and never leaked."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from memosys.core.errors import StoreError
from memosys.stores.sqlite.reader_pool import ReaderPool


def _pool(tmp_path: Path, size: int, fail_first: int = 0) -> ReaderPool:
    failures = [fail_first]

    def connect() -> sqlite3.Connection:
        if failures[0]:
            failures[0] -= 1
            raise sqlite3.OperationalError("unable to open database file")
        return sqlite3.connect(tmp_path / "db.sqlite", check_same_thread=False)

    return ReaderPool(connect, size, str(tmp_path))


def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        threading.Event().wait(0.001)


def test_a_connection_given_back_goes_to_the_longest_waiter(tmp_path: Path) -> None:
    pool = _pool(tmp_path, size=1)
    order: list[str] = []

    def read(name: str) -> None:
        conn = pool.borrow()
        order.append(name)
        pool.give_back(conn)

    conn = pool.borrow()
    waiters = []
    for n in range(3):
        waiters.append(threading.Thread(target=read, args=(f"waiter {n}",)))
        waiters[-1].start()
        _until(lambda n=n: pool.waiting == n + 1)
    # giving back and asking again at once (a thread reading in a loop) queues behind them
    pool.give_back(conn)
    read("the same thread again")
    for thread in waiters:
        thread.join(10)
    assert order == ["waiter 0", "waiter 1", "waiter 2", "the same thread again"]


def test_closing_refuses_waiters_and_later_borrowers(tmp_path: Path) -> None:
    pool = _pool(tmp_path, size=1)
    conn = pool.borrow()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            pool.borrow()
        except StoreError as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    _until(lambda: pool.waiting == 1)
    pool.close()
    waiter.join(10)
    assert len(errors) == 1 and "closed" in str(errors[0])
    pool.give_back(conn)
    with pytest.raises(sqlite3.ProgrammingError):  # closed when it came back
        conn.execute("SELECT 1")
    with pytest.raises(StoreError, match="closed"):
        pool.borrow()


def test_a_failed_connect_frees_its_slot(tmp_path: Path) -> None:
    pool = _pool(tmp_path, size=1, fail_first=1)
    with pytest.raises(sqlite3.OperationalError):
        pool.borrow()
    conn = pool.borrow()  # the slot of the failed connect was not lost
    assert conn.execute("SELECT 1").fetchone() == (1,)
    pool.give_back(conn)


def test_a_transaction_left_open_is_rolled_back_when_given_back(tmp_path: Path) -> None:
    pool = _pool(tmp_path, size=1)
    conn = pool.borrow()
    conn.execute("BEGIN")
    pool.give_back(conn)
    again = pool.borrow()
    assert again is conn and not again.in_transaction

"""A fair pool of read-only SQLite connections.

Threads borrow a connection for a block of reads. When every connection is
out, borrowers queue, and a connection given back goes to the one that has
waited longest; a thread that gives one back and asks again at once queues
behind them. So a thread that reads in a loop cannot starve another, such as
a writer that catches an in-memory index up after its commit.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from memosys.stores.sqlite.errors import closed_store


@dataclass
class _Turn:
    """One queued borrower: woken with a connection, or with a free slot (``None``) to
    open one in."""

    wake: threading.Condition
    given: bool = False
    conn: sqlite3.Connection | None = None


class ReaderPool:
    """Up to ``size`` connections made by ``connect``, lent first come, first served
    (``name`` names the database in errors)."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], size: int, name: str) -> None:
        self._connect = connect
        self._size = size
        self._name = name
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._open = 0  # connections made, or slots handed to a borrower to make one in
        self._queue: deque[_Turn] = deque()
        self._closed = False

    @property
    def waiting(self) -> int:
        """How many borrowers are in line."""
        with self._lock:
            return len(self._queue)

    def borrow(self) -> sqlite3.Connection:
        """A connection for this thread until :meth:`give_back`; waits in line when all
        are out. StoreError once the pool is closed."""
        with self._lock:
            self._refuse_if_closed()
            if self._queue or (not self._idle and self._open >= self._size):
                turn = self._wait_in_line()
                if self._closed:
                    _close(turn.conn)
                    self._refuse_if_closed()
                if turn.conn is not None:
                    return turn.conn
            elif self._idle:
                return self._idle.pop()
            else:
                self._open += 1
        try:
            return self._connect()
        except BaseException:
            with self._lock:
                self._pass_on(None)
            raise

    def _wait_in_line(self) -> _Turn:
        turn = _Turn(threading.Condition(self._lock))
        self._queue.append(turn)
        try:
            while not turn.given:
                turn.wake.wait()
        except BaseException:  # interrupted: what was handed to this turn goes on
            if turn.given:
                self._pass_on(turn.conn)
            else:
                self._queue.remove(turn)
            raise
        return turn

    def give_back(self, conn: sqlite3.Connection) -> None:
        """Return a borrowed connection (rolling back a transaction a failed block left
        open); it goes to the longest waiter, if any."""
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        with self._lock:
            self._pass_on(conn)

    def close(self) -> None:
        """Close the idle connections now and borrowed ones when they come back; waiting
        and later borrowers get StoreError."""
        with self._lock:
            self._closed = True
            while self._idle:
                _close(self._idle.pop())
            while self._queue:
                self._hand(None)

    def _pass_on(self, conn: sqlite3.Connection | None) -> None:
        """A connection (or, with ``None``, its slot) to the longest waiter, else back to
        the pool (a slot is freed)."""
        if self._closed:
            _close(conn)
        elif self._queue:
            self._hand(conn)
        elif conn is not None:
            self._idle.append(conn)
        else:
            self._open -= 1

    def _hand(self, conn: sqlite3.Connection | None) -> None:
        turn = self._queue.popleft()
        turn.conn, turn.given = conn, True
        turn.wake.notify()

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise closed_store(self._name)


def _close(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        conn.close()

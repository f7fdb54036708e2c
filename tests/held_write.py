"""A write transaction held open on another thread, for tests of what must not wait for it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any


@contextmanager
def write_held_open(transaction: Callable[[], AbstractContextManager[Any]]) -> Iterator[None]:
    """Inside the block, another thread holds ``transaction()`` open (it ends after)."""
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction():
            inside.set()
            release.wait(timeout=30)

    writer = threading.Thread(target=hold)
    writer.start()
    try:
        assert inside.wait(timeout=10), "the writer thread did not open its transaction"
        yield
        assert writer.is_alive(), "the write ended before the block did"
    finally:
        release.set()
        writer.join()


def on_another_thread(work: Callable[[], Any], timeout: float = 5.0) -> Any:
    """``work()`` run on a daemon thread; fails the test if it has not returned in time
    (a daemon, so a call stuck behind a held write cannot hang the run)."""
    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(work()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert done, f"the call on another thread did not finish within {timeout} s"
    return done[0]

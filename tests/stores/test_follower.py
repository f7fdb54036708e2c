"""The follower runs its job after nudges, once more for nudges during a run, and stops on close."""

from __future__ import annotations

import threading

from memosys.core.errors import StoreError
from memosys.stores.sqlite.follower import Follower


def test_nudges_during_a_run_make_exactly_one_more_run() -> None:
    started, release = threading.Semaphore(0), threading.Event()
    runs: list[int] = []

    def job() -> None:
        runs.append(len(runs))
        started.release()
        release.wait()

    follower = Follower("test-follower", job)
    assert not follower.alive  # no thread before the first nudge
    follower.nudge()
    assert started.acquire(timeout=10)  # the first run is under way
    for _ in range(5):
        follower.nudge()
    release.set()
    assert follower.wait_idle(timeout=10)
    assert runs == [0, 1]
    follower.close()
    assert not follower.alive


def test_an_error_of_the_job_is_logged_and_the_thread_goes_on() -> None:
    calls: list[str] = []

    def job() -> None:
        calls.append("run")
        if len(calls) == 1:
            raise StoreError("the store is closed")

    follower = Follower("test-follower", job)
    follower.nudge()
    assert follower.wait_idle(timeout=10)
    follower.nudge()
    assert follower.wait_idle(timeout=10)
    assert calls == ["run", "run"]
    follower.close()


def test_close_waits_for_the_running_job_and_later_nudges_do_nothing() -> None:
    started, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def job() -> None:
        started.set()
        release.wait()
        finished.append(True)

    follower = Follower("test-follower", job)
    follower.nudge()
    assert started.wait(timeout=10)
    closing = threading.Thread(target=follower.close)
    closing.start()
    assert not follower.wait_idle(timeout=0.05)  # still running the job
    release.set()
    closing.join(timeout=10)
    assert not closing.is_alive() and finished == [True] and not follower.alive
    follower.nudge()
    assert follower.wait_idle(timeout=1) and finished == [True]

"""Concurrent failed sign-ins: the limit holds however many arrive at once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from held_write import on_another_thread, write_held_open
from memosys import MemOS
from memosys.core.clock import FixedClock
from memosys.core.errors import AuthenticationError, RateLimitedError

ATTEMPTS = 48
CLIENT = "10.0.0.9"
_GUESS = "msk_guessguessguessguessguess"


def _statuses(stores: list[MemOS], key: str, busy: MemOS) -> Counter[int]:
    """The outcomes of ``ATTEMPTS`` sign-ins spread over ``stores``, released together
    by a barrier while ``busy`` holds a write open (as a long add would)."""
    start = threading.Barrier(ATTEMPTS + 1)

    def attempt(n: int) -> int:
        start.wait(timeout=30)
        try:
            stores[n % len(stores)].authenticate(key, client=CLIENT)
        except AuthenticationError:
            return 401
        except RateLimitedError:
            return 429
        return 200

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        with write_held_open(busy.store.transaction):
            outcomes = pool.map(attempt, range(ATTEMPTS))
            start.wait(timeout=30)
        return Counter(outcomes)


def test_concurrent_bad_keys_get_at_most_the_limit_of_401s(
    mos: MemOS, data_dir: Path, embedder: Any, clock: FixedClock
) -> None:
    limit = mos.settings.governance.auth_max_failures
    with (
        MemOS.open(data_dir, embedder=embedder, clock=clock) as other,
        MemOS.open(data_dir, embedder=embedder, clock=clock) as busy,
    ):  # three connections to one file, as three processes would hold
        statuses = _statuses([mos, other], _GUESS, busy)
    assert statuses == Counter({401: limit, 429: ATTEMPTS - limit})


def test_concurrent_good_keys_from_one_client_all_pass(mos: MemOS) -> None:
    good = mos.create_user("ana").api_key
    with pytest.raises(AuthenticationError):
        mos.authenticate(_GUESS, client=CLIENT)
    assert _statuses([mos], good, mos) == Counter({200: ATTEMPTS})


def test_sign_ins_do_not_wait_for_a_memory_write(mos: MemOS) -> None:
    good = mos.create_user("ana").api_key
    mos.authenticate(good, client=CLIENT)  # its first use is recorded, once a minute at most

    def guess() -> type[Exception] | None:
        try:
            mos.authenticate(_GUESS, client=CLIENT)
        except AuthenticationError as refused:
            return type(refused)
        return None

    with write_held_open(mos.store.transaction):  # an add, an import, a forget's compaction
        assert on_another_thread(lambda: mos.authenticate(good, client=CLIENT)).user_id == "ana"
        assert on_another_thread(guess) is AuthenticationError


def test_a_valid_key_from_a_client_without_failures_takes_no_lock(mos: MemOS) -> None:
    good = mos.create_user("ana").api_key
    mos.authenticate(good, client=CLIENT)  # its first use is recorded, once a minute at most
    with write_held_open(lambda: mos.store.governance.failures_locked("10.0.0.10")):
        assert on_another_thread(lambda: mos.authenticate(good, client=CLIENT)).user_id == "ana"

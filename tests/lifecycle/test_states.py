"""The lifecycle state machine: every allowed transition passes, every other one is refused."""

from __future__ import annotations

import itertools

import pytest

from memosys.core.errors import IllegalTransitionError
from memosys.core.items import LifecycleState
from memosys.lifecycle.states import ALLOWED, check_transition, is_allowed

S = LifecycleState


def test_the_main_path_is_allowed() -> None:
    for old, new in [(S.GENERATED, S.ACTIVATED), (S.ACTIVATED, S.MERGED), (S.MERGED, S.ARCHIVED)]:
        check_transition(old, new)


@pytest.mark.parametrize(("old", "new"), list(itertools.product(S, S)))
def test_check_transition_agrees_with_the_table(old: S, new: S) -> None:
    if new in ALLOWED[old]:
        check_transition(old, new)
        assert is_allowed(old, new)
    else:
        with pytest.raises(IllegalTransitionError) as caught:
            check_transition(old, new)
        assert caught.value.detail == {"from": old.value, "to": new.value}
        assert not is_allowed(old, new)


def test_deleted_is_a_tombstone_with_no_way_out() -> None:
    assert ALLOWED[S.DELETED] == frozenset()
    with pytest.raises(IllegalTransitionError, match="tombstone"):
        check_transition(S.DELETED, S.ACTIVATED)


def test_frozen_cannot_be_deleted_and_the_message_says_unfreeze() -> None:
    with pytest.raises(IllegalTransitionError, match="unfreeze it first"):
        check_transition(S.FROZEN, S.DELETED)


def test_same_state_is_refused_with_already() -> None:
    with pytest.raises(IllegalTransitionError, match="already archived"):
        check_transition(S.ARCHIVED, S.ARCHIVED)


def test_illegal_message_lists_the_allowed_targets() -> None:
    with pytest.raises(IllegalTransitionError, match=r"allowed: archived, deleted, frozen"):
        check_transition(S.MERGED, S.GENERATED)


def test_every_state_has_a_row() -> None:
    assert set(ALLOWED) == set(S)
    assert all(old not in targets for old, targets in ALLOWED.items())

"""Concurrent changes to one memory: none is lost, and ``if_version`` refuses a stale one.

An update reads the memory, works out the new version (embedding a new
content) and writes it. Another change written in between must survive: the
first update is re-applied to what is there now rather than written over it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from memosys import MemOS
from memosys.core.errors import InvalidInputError, NotFoundError, VersionConflictError
from memosys.core.items import LifecycleState
from memosys.models.embedders.base import Purpose
from query_hook import QueryHook


class _HeldEmbedder(QueryHook):
    """The real embedder; the ``hold``-th document embedding from now (0: none) waits
    for ``go`` (so a change can be held between its read and its write)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.hold = 0
        self.waiting, self.go = threading.Event(), threading.Event()

    def embed(
        self, texts: Sequence[str], purpose: Purpose = "document"
    ) -> npt.NDArray[np.float32]:
        if self.hold and purpose == "document":
            self.hold -= 1
            if not self.hold:
                self.waiting.set()
                assert self.go.wait(timeout=10), "the test never let the held embedding go on"
        return super().embed(texts, purpose)


@pytest.fixture
def held(embedder: Any) -> _HeldEmbedder:
    return _HeldEmbedder(embedder)


@pytest.fixture
def mos(tmp_path: Path, held: _HeldEmbedder) -> Iterator[MemOS]:
    with MemOS.open(tmp_path, embedder=held) as opened:
        yield opened


def _while_held(held: _HeldEmbedder, work: Any, meanwhile: Any, embedding: int = 1) -> Any:
    """Run ``work()`` on a thread until its ``embedding``-th document embedding waits,
    run ``meanwhile()``, let ``work`` finish; returns what ``work`` returned or raised."""
    done: list[Any] = []

    def run() -> None:
        try:
            done.append(work())
        except Exception as exc:  # noqa: BLE001  (handed to the test)
            done.append(exc)

    held.hold = embedding
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert held.waiting.wait(timeout=10), "the update never reached its embedding"
    meanwhile()
    held.go.set()
    thread.join(timeout=10)
    assert done, "the held update did not finish"
    return done[0]


def test_a_change_written_during_an_update_is_kept(mos: MemOS, held: _HeldEmbedder) -> None:
    (item,) = mos.add_texts(["Ana lives in Paris."], user_id="ana")
    result = _while_held(
        held,
        lambda: mos.update(item.id, user_id="ana", content="Ana lives in Berlin."),
        lambda: mos.update(item.id, user_id="ana", tags=["home"], importance=0.9),
    )
    assert not isinstance(result, Exception), result
    now = mos.get(item.id, user_id="ana")
    assert (now.content, now.tags, now.importance) == ("Ana lives in Berlin.", ["home"], 0.9)
    assert now.version == 3
    versions = mos.history(item.id, user_id="ana")
    assert [v.version for v in versions] == [1, 2, 3]
    found = mos.search("Berlin", user_id="ana", top_k=1)
    assert [hit.item.id for hit in found] == [item.id]


def test_a_change_to_the_same_field_during_an_update_is_overwritten_in_order(
    mos: MemOS, held: _HeldEmbedder
) -> None:
    (item,) = mos.add_texts(["Ana lives in Paris."], user_id="ana")
    _while_held(
        held,
        lambda: mos.update(item.id, user_id="ana", content="Ana lives in Berlin."),
        lambda: mos.update(item.id, user_id="ana", content="Ana lives in Rome.", tags=["x"]),
    )
    now = mos.get(item.id, user_id="ana")
    assert (now.content, now.tags, now.version) == ("Ana lives in Berlin.", ["x"], 3)


def test_a_change_written_while_an_add_supersedes_a_memory_is_kept(
    mos: MemOS, held: _HeldEmbedder
) -> None:
    """The add's knowledge update (which compares the two statements' embeddings)
    marks the old memory superseded without undoing the edit made meanwhile."""
    message = {"role": "user", "content": "I live in Paris, near the canal."}
    (paris,) = mos.add([message], user_id="ann")
    moved = {"role": "user", "content": "Big news: I moved to Berlin last week!"}
    result = _while_held(
        held,
        lambda: mos.add([moved], user_id="ann"),
        lambda: mos.update(paris.id, user_id="ann", tags=["home"]),
        embedding=2,  # the add's own, then the knowledge update's comparison
    )
    assert not isinstance(result, Exception), result
    (berlin,) = result
    old = mos.get(paris.id, user_id="ann")
    assert (old.state, old.superseded_by, old.tags) == (
        LifecycleState.SUPERSEDED, berlin.id, ["home"]
    )
    assert mos.get(berlin.id, user_id="ann").supersedes == [paris.id]


def test_if_version_refuses_an_update_of_a_changed_memory(mos: MemOS) -> None:
    (item,) = mos.add_texts(["Ana lives in Paris."], user_id="ana")
    mos.update(item.id, user_id="ana", tags=["home"])
    with pytest.raises(VersionConflictError) as refused:
        mos.update(item.id, user_id="ana", content="Ana lives in Berlin.", if_version=1)
    assert refused.value.detail == {"id": item.id, "version": 2, "expected_version": 1}
    assert "version 2" in refused.value.message
    now = mos.get(item.id, user_id="ana")
    assert (now.content, now.version) == ("Ana lives in Paris.", 2)
    updated = mos.update(item.id, user_id="ana", content="Ana lives in Berlin.", if_version=2)
    assert (updated.content, updated.version) == ("Ana lives in Berlin.", 3)


def test_if_version_refuses_when_the_memory_changes_during_the_update(
    mos: MemOS, held: _HeldEmbedder
) -> None:
    (item,) = mos.add_texts(["Ana lives in Paris."], user_id="ana")
    result = _while_held(
        held,
        lambda: mos.update(item.id, user_id="ana", content="Ana lives in Berlin.", if_version=1),
        lambda: mos.update(item.id, user_id="ana", tags=["home"]),
    )
    assert isinstance(result, VersionConflictError), result
    now = mos.get(item.id, user_id="ana")
    assert (now.content, now.tags, now.version) == ("Ana lives in Paris.", ["home"], 2)


@pytest.mark.parametrize("bad", [0, -1, True, 1.0, "1"])
def test_if_version_must_be_a_version_number(mos: MemOS, bad: Any) -> None:
    (item,) = mos.add_texts(["Ana lives in Paris."], user_id="ana")
    with pytest.raises(InvalidInputError, match="if_version"):
        mos.update(item.id, user_id="ana", tags=["x"], if_version=bad)
    assert mos.get(item.id, user_id="ana").version == 1



class _Counted:
    """An embedder that counts the document embeddings it makes."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.documents = 0
        self.fingerprint = str(inner.fingerprint)
        self.dimensions = int(inner.dimensions)

    def embed(
        self, texts: Sequence[str], purpose: Purpose = "document"
    ) -> npt.NDArray[np.float32]:
        self.documents += purpose == "document"
        return self._inner.embed(texts, purpose)  # type: ignore[no-any-return]


CHANGES = {
    "content": lambda mos, id: mos.update(id, user_id="ana", content="Ana lives in Berlin."),
    "tags": lambda mos, id: mos.update(id, user_id="ana", tags=["home"]),
    "archive": lambda mos, id: mos.archive(id, user_id="ana"),
    "delete": lambda mos, id: mos.delete(id, user_id="ana"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_is_written_however_many_changes_land_while_it_is_made(
    tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Another client writing first every time the change is made does not wear it
    out: made again from the newer version with the writer held, it lands then (a
    client that comes meanwhile waits for the writer, and its change lands after)."""
    counted = _Counted(embedder)
    with MemOS.open(tmp_path, embedder=counted) as mos:
        (item,) = mos.add_texts(["Ana lives in Paris."], user_id="ana")
        before = counted.documents
        rivals: list[threading.Thread] = []
        failures: list[Exception] = []
        this = threading.current_thread()
        check_write = mos._cubes.check_write  # type: ignore[attr-defined]
        in_write = mos.store._db.in_write  # type: ignore[attr-defined]

        def rival(number: int) -> None:
            try:
                mos.update(item.id, user_id="ana", metadata={"rival": number})
            except Exception as exc:  # noqa: BLE001  (handed to the test)
                failures.append(exc)

        def raced_check(user: str, cube: Any) -> None:
            """Between the change's read and its write, another client writes first."""
            if threading.current_thread() is this and len(rivals) < 10:
                rivals.append(threading.Thread(target=rival, args=(len(rivals) + 1,)))
                rivals[-1].start()
                if not in_write():  # else it waits for this change's transaction
                    rivals[-1].join(timeout=10)
            check_write(user, cube)

        monkeypatch.setattr(mos._cubes, "check_write", raced_check)  # type: ignore[attr-defined]
        CHANGES[change](mos, item.id)
        for thread in rivals:
            thread.join(timeout=10)
        assert not any(t.is_alive() for t in rivals)
        assert len(rivals) == 2  # the first try lost to one; the second, holding the writer, won
        versions = mos.history(item.id, user_id="ana")
        wanted = {"content": ("content", "Ana lives in Berlin."), "tags": ("tags", ["home"]),
                  "archive": ("state", "archived"), "delete": ("state", "deleted")}[change]
        assert getattr(versions[2].item, wanted[0]) == wanted[1]
        assert versions[2].item.metadata == {"rival": 1}  # made again from the rival's version
        if change == "delete":  # the rival that waited found the memory deleted
            assert [type(f) for f in failures] == [NotFoundError]
            assert [v.version for v in versions] == [1, 2, 3]
        else:  # the rival that waited came last
            assert failures == []
            assert [v.version for v in versions] == [1, 2, 3, 4]
            assert getattr(versions[3].item, wanted[0]) == wanted[1]
            assert versions[3].item.metadata == {"rival": 2}
        assert counted.documents - before == (change == "content")  # embedded once

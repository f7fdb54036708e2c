"""Verified deletion on a real store: forget and forget_user leave no bytes behind.

Each test first checks that the needle *is* found while the memory exists
(so a scan that finds nothing proves something), then forgets it and scans
every table, the FTS index and the raw bytes of every file under the data
directory after the compaction that forget runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from memosys.api.local import DATABASE_FILE, MemOS
from memosys.cli.app import cli
from memosys.core.clock import FixedClock
from memosys.core.errors import FrozenError, NotFoundError
from memosys.core.events import MemoryChange
from memosys.lifecycle.forget import ForgetReceipt
from memosys.settings import MemosysSettings, StoreSettings
from memosys.stores.base import Scope
from memosys.stores.sqlite.ann import SAVE_AFTER_CHANGES

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SECRET = "Quillonberry clinic diagnosed Xanthelasmic syndrome for Ana"
SECRET_V2 = "Quillonberry clinic revised: Xanthelasmic syndrome ruled out for Ana"
KEEP = "The quarterly review is on Thursday afternoon."
USER = "ana-7f3a9c41"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def mos(data_dir: Path, embedder: Any, clock: FixedClock) -> Iterator[MemOS]:
    with MemOS.open(data_dir, embedder=embedder, clock=clock) as opened:
        yield opened


def _raw_hits(data_dir: Path, needle: bytes) -> list[str]:
    return [
        str(p.relative_to(data_dir))
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and needle in p.read_bytes()
    ]


def _rows(data_dir: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data_dir / DATABASE_FILE) as conn:
        return conn.execute(sql, params).fetchall()


def _secret_with_history(mos: MemOS, clock: FixedClock) -> str:
    keep, secret = mos.add_texts([KEEP, SECRET], user_id=USER)
    clock.set(T0 + timedelta(hours=1))
    mos.update(secret.id, user_id=USER, content=SECRET_V2)
    mos.snapshot("default", "before", user_id=USER)
    clock.set(T0 + timedelta(hours=2))
    assert keep.id != secret.id
    return secret.id


def test_forget_removes_every_byte_of_the_memory(
    mos: MemOS, clock: FixedClock, data_dir: Path
) -> None:
    secret_id = _secret_with_history(mos, clock)
    texts = [SECRET, SECRET_V2]
    before = mos.verify_forgotten(ids=[secret_id], texts=texts)
    assert not before.clean  # the scan sees the memory while it exists
    assert any(f.place.startswith("table item_versions") for f in before.leftovers)
    assert _raw_hits(data_dir, b"Xanthelasmic")
    # the FTS index holds lower-cased porter stems, which a scan for the text would miss
    assert _raw_hits(data_dir, b"quillonberri")

    scope = Scope(USER, (mos.cube("default", user_id=USER).id,))
    vectors = [blob for _, blob in mos.store.versions.item_traces(scope, [secret_id]) if blob]
    assert len(vectors) == 2  # one per version
    found = mos.verify_forgotten(receipt=ForgetReceipt(vectors=vectors))
    assert {f.place for f in found.leftovers} >= {"table vectors.vector",
                                                  "table item_versions.vector"}

    receipt = mos.forget(secret_id, user_id=USER)

    assert sorted(receipt.vectors) == sorted(vectors)
    assert mos.verify_forgotten(receipt=receipt).clean
    assert receipt.item_ids == [secret_id] and receipt.versions == 1
    assert receipt.compacted
    report = mos.verify_forgotten(ids=[secret_id], texts=texts)
    assert report.clean, report.leftovers
    assert report.tables >= 10 and report.files >= 1
    assert _raw_hits(data_dir, b"Xanthelasmic") == []
    assert _raw_hits(data_dir, b"Quillonberry") == []
    assert _raw_hits(data_dir, b"quillonberri") == []
    assert _raw_hits(data_dir, b"xanthelasm") == []
    assert (data_dir / (DATABASE_FILE + "-wal")).stat().st_size < 100_000
    # what else was there is untouched, and still found by every retriever
    assert [i.content for i in mos.list(user_id=USER)] == [KEEP]
    assert mos.search("quarterly review", user_id=USER, mode="bm25")[0].item.content == KEEP
    assert mos.search("quarterly review", user_id=USER, mode="dense")[0].item.content == KEEP
    # gone from time travel and from the snapshot too
    assert [i.content for i in mos.list(user_id=USER, snapshot="before")] == [KEEP]
    then = mos.search("Xanthelasmic", user_id=USER, as_of=T0 + timedelta(minutes=30))
    assert [h.item.content for h in then] == [KEEP]
    with pytest.raises(NotFoundError):
        mos.history(secret_id, user_id=USER)


def test_forget_emits_forgotten_and_works_on_tombstones(mos: MemOS, clock: FixedClock) -> None:
    seen: list[MemoryChange] = []
    mos.events.subscribe(seen.append)
    secret_id = _secret_with_history(mos, clock)
    mos.delete(secret_id, user_id=USER)
    receipt = mos.forget(secret_id, user_id=USER)
    assert receipt.versions == 2  # the original and the edit; the tombstone was current
    forgotten = [c for c in seen if c.kind == "forgotten"]
    assert [c.item_ids for c in forgotten] == [(secret_id,)]
    assert forgotten[0].user_id == USER and forgotten[0].cube_id is not None
    with pytest.raises(NotFoundError):
        mos.forget(secret_id, user_id=USER)


def test_words_of_the_item_format_are_no_trace_of_a_forgotten_memory(mos: MemOS) -> None:
    mos.add_texts(["Ana likes tea."], user_id=USER)
    (frozen,) = mos.add_texts(["A note kept as it is."], user_id=USER)
    mos.freeze(frozen.id, user_id=USER)
    (gone,) = mos.add_texts(["The report was generated from textual keywords, frozen."],
                            user_id=USER)
    report = mos.verify_forgotten(receipt=mos.forget(gone.id, user_id=USER))
    assert report.clean, report.leftovers


def test_a_snapshot_counts_what_it_still_holds_after_a_forget(
    mos: MemOS, clock: FixedClock
) -> None:
    keep, gone = mos.add_texts(["Keep this note.", "Forget this note."], user_id=USER)
    clock.set(T0 + timedelta(minutes=1))
    mos.snapshot("default", "before", user_id=USER)
    mos.forget(gone.id, user_id=USER)
    (snap,) = mos.list_snapshots(user_id=USER)
    held = mos.list(user_id=USER, snapshot="before")
    assert snap.item_count == len(held) == 1 and held[0].id == keep.id


def test_forget_refuses_frozen_and_foreign_memories(mos: MemOS, clock: FixedClock) -> None:
    secret_id = _secret_with_history(mos, clock)
    with pytest.raises(NotFoundError):
        mos.forget(secret_id, user_id="mallory")
    mos.freeze(secret_id, user_id=USER)
    with pytest.raises(FrozenError, match="unfreeze"):
        mos.forget(secret_id, user_id=USER)
    assert mos.get(secret_id, user_id=USER).content == SECRET_V2


def test_forget_cuts_links_from_other_memories(mos: MemOS, clock: FixedClock) -> None:
    secret_id = _secret_with_history(mos, clock)
    (summary,) = mos.add_texts(["Ana had a clinic visit in June."], user_id=USER)
    linked = summary.model_copy(update={"merged_from": [secret_id]})
    mos.store.update_item(Scope(USER, (summary.cube_id,)), linked, None)
    receipt = mos.forget(secret_id, user_id=USER)
    assert receipt.unlinked == [summary.id]
    assert mos.get(summary.id, user_id=USER).merged_from == []
    report = mos.verify_forgotten(ids=[secret_id], texts=[SECRET, SECRET_V2])
    assert report.clean, report.leftovers


def test_forget_removes_the_saved_vector_index_and_keeps_the_loaded_one(
    data_dir: Path, embedder: Any, clock: FixedClock
) -> None:
    """The saved file goes at once; the loaded index takes the removal in (it is not
    built anew) and saves itself at close with the vector zeroed."""
    settings = MemosysSettings(store=StoreSettings(ann_threshold=20))
    texts = [f"Note {n}: the Zarkovian relay {n} is calibrated." for n in range(40)]
    with MemOS.open(data_dir, embedder=embedder, clock=clock, settings=settings) as mos:
        items = mos.add_texts(texts, user_id=USER)
        mos.search("relay calibration", user_id=USER, mode="dense")
        assert mos.store.wait_for_vector_index(items[0].cube_id, timeout=60)  # type: ignore[attr-defined]
    index_files = list((data_dir / f"{DATABASE_FILE}.ann").glob("*.usearch"))
    assert index_files
    (vector,) = _rows(data_dir, "SELECT v.vector FROM vectors v JOIN items i "
                      "ON i.rowid = v.item_rowid WHERE i.id = ?", items[7].id)[0:1]
    with MemOS.open(data_dir, embedder=embedder, clock=clock, settings=settings) as mos:
        before = mos.verify_forgotten(receipt=ForgetReceipt(vectors=[vector[0]]))
        # the saved index holds the vector in half precision, not as the float32 stored
        assert f"file {DATABASE_FILE}.ann/{index_files[0].name}" in {
            f.place for f in before.leftovers}
        mos.search("relay calibration", user_id=USER, mode="dense")
        assert mos.store.wait_for_vector_index(items[0].cube_id, timeout=60)  # type: ignore[attr-defined]
        loaded = mos.store._vectors._cubes[items[0].cube_id]  # type: ignore[attr-defined]
        hnsw = loaded._ann
        receipt = mos.forget(items[7].id, user_id=USER)
        assert not any(p.exists() for p in index_files)
        hits = mos.search("Zarkovian relay 7", user_id=USER, mode="dense", top_k=40)
        assert items[7].id not in {h.item.id for h in hits} and len(hits) == 39
        assert mos.store._vectors._cubes[items[0].cube_id] is loaded  # type: ignore[attr-defined]
        assert loaded._ann is hnsw
    assert list((data_dir / f"{DATABASE_FILE}.ann").glob("*.usearch"))  # saved at close
    assert _raw_hits(data_dir, vector[0]) == []
    assert _raw_hits(data_dir, np.frombuffer(vector[0], "<f4").astype("<f2").tobytes()) == []
    assert _raw_hits(data_dir, b"Zarkovian relay 7 ") == []
    with MemOS.open(data_dir, embedder=embedder, clock=clock, settings=settings) as mos:
        report = mos.verify_forgotten(ids=[items[7].id], texts=[texts[7]])
        assert mos.verify_forgotten(receipt=receipt).clean
    assert report.clean, report.leftovers
    assert {f.place.split(".")[0] for f in report.retained} <= {"table audit_log", "file memosys"}


def test_forget_user_removes_the_user_everywhere(
    mos: MemOS, clock: FixedClock, data_dir: Path
) -> None:
    seen: list[MemoryChange] = []
    mos.events.subscribe(seen.append)
    mos.create_user(USER)  # an API key: governance drops it when the user is forgotten
    secret_id = _secret_with_history(mos, clock)
    mos.create_cube("private", owner=USER)
    (private,) = mos.add_texts(["Ana's Wolpertinger passport number"], user_id=USER,
                               cube="private")
    (other,) = mos.add_texts(["Bob likes the Zugspitze."], user_id="bob")
    mos.freeze(private.id, user_id=USER)
    assert not mos.verify_forgotten(user_ids=[USER], texts=["Wolpertinger"]).clean
    receipt = mos.forget_user(USER)
    assert secret_id in receipt.item_ids and private.id in receipt.item_ids
    assert receipt.compacted and len(receipt.item_ids) == 3
    assert {c.kind for c in seen if c.kind == "forgotten"} == {"forgotten"}
    report = mos.verify_forgotten(
        ids=receipt.item_ids, user_ids=[USER], texts=[SECRET, SECRET_V2, "Wolpertinger"]
    )
    assert report.clean, report.leftovers
    assert _raw_hits(data_dir, b"Wolpertinger") == []
    assert _rows(data_dir, "SELECT count(*) FROM cubes WHERE owner = ?", USER) == [(0,)]
    assert _rows(data_dir, "SELECT count(*) FROM users WHERE id = ?", USER) == [(0,)]
    assert mos.get(other.id, user_id="bob").content == "Bob likes the Zugspitze."


def test_verify_forgotten_cli_exit_codes(mos: MemOS, clock: FixedClock, data_dir: Path) -> None:
    secret_id = _secret_with_history(mos, clock)
    runner = CliRunner()
    args = ["verify-forgotten", "--data", str(data_dir), "--id", secret_id, "--text", SECRET]
    found = runner.invoke(cli, args)
    assert found.exit_code == 1 and "LEFT" in found.output
    mos.forget(secret_id, user_id=USER)
    clean = runner.invoke(cli, args)
    assert clean.exit_code == 0, clean.output
    assert "clean" in clean.output
    usage = runner.invoke(cli, ["verify-forgotten", "--data", str(data_dir)])
    assert usage.exit_code == 2 and "at least one --id" in usage.output


def test_verify_catches_what_a_plain_delete_leaves(
    mos: MemOS, clock: FixedClock, data_dir: Path
) -> None:
    """A bare SQL delete (no secure_delete, FTS merge or VACUUM) leaves bytes; verify says so."""
    secret_id = _secret_with_history(mos, clock)
    with sqlite3.connect(data_dir / DATABASE_FILE) as conn:
        conn.execute("DELETE FROM items WHERE id = ?", (secret_id,))
    report = mos.verify_forgotten(ids=[secret_id], texts=[SECRET, SECRET_V2])
    assert not report.clean
    kinds = {(f.kind, f.place.split(" ")[0]) for f in report.leftovers}
    assert ("term", "file") in kinds  # index pages still hold "quillonberri"
    assert ("text", "file") in kinds  # freed pages and the WAL still hold the text


def test_another_open_store_does_not_write_a_forgotten_vector_back(
    data_dir: Path, embedder: Any, clock: FixedClock
) -> None:
    """HNSW files keep removed vectors' bytes: a store that saw vectors go must not save one."""
    settings = MemosysSettings(store=StoreSettings(ann_threshold=20))
    count = SAVE_AFTER_CHANGES + 60
    texts = [f"Note {n}: the Zarkovian relay {n} is calibrated." for n in range(count)]
    with MemOS.open(data_dir, embedder=embedder, clock=clock, settings=settings) as other:
        items = other.add_texts(texts, user_id=USER)
        other.search("relay calibration", user_id=USER, mode="dense")
        assert other.store.wait_for_vector_index(items[0].cube_id, timeout=60)  # type: ignore[attr-defined]
        (vector,) = _rows(data_dir, "SELECT v.vector FROM vectors v JOIN items i "
                          "ON i.rowid = v.item_rowid WHERE i.id = ?", items[3].id)
        with MemOS.open(data_dir, embedder=embedder, clock=clock, settings=settings) as mos:
            mos.forget(items[3].id, user_id=USER)
        hits = other.search("Zarkovian relay 3", user_id=USER, mode="dense", top_k=40)
        assert items[3].id not in {h.item.id for h in hits}
        # enough further removals that the old code saved the index (removed slots and all)
        purged = [item.id for item in items[40 : 40 + SAVE_AFTER_CHANGES + 10]]
        other.store.delete_items(Scope(USER, (items[0].cube_id,)), purged)
        other.search("relay calibration", user_id=USER, mode="dense")
    assert _raw_hits(data_dir, vector[0]) == []
    assert _raw_hits(data_dir, np.frombuffer(vector[0], "<f4").astype("<f2").tobytes()) == []


def test_forget_vacuums_only_a_database_whose_free_space_may_hold_old_content(
    mos: MemOS, data_dir: Path
) -> None:
    """Every connection zeroes what it deletes, so the file need not be rewritten; a
    database made before that (no ``free_space_zeroed`` fact) is VACUUMed once."""
    facts = "SELECT name FROM store_facts"
    assert _rows(data_dir, facts) == [("free_space_zeroed",)]  # made by this code
    with sqlite3.connect(data_dir / DATABASE_FILE) as conn:
        conn.execute("DELETE FROM store_facts")  # as if made before 2026-11-27
    for round_, vacuumed in ((1, True), (2, False)):
        needle = f"Zorbulite{round_}"
        long_text = " ".join(f"{needle} reading {n} of the Quasmid gauge" for n in range(600))
        (item,) = mos.add_texts([long_text], user_id=USER)  # overflow pages, freed at forget
        assert _raw_hits(data_dir, needle.encode())
        assert mos.forget(item.id, user_id=USER).compacted
        free_pages = _rows(data_dir, "PRAGMA freelist_count")[0][0]
        assert (free_pages == 0) is vacuumed
        assert _rows(data_dir, facts) == [("free_space_zeroed",)]
        assert _raw_hits(data_dir, needle.encode()) == []
        assert _raw_hits(data_dir, needle.lower().encode()) == []

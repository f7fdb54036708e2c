"""Distil memories through the facade: provenance, staleness, refusal, rebuild, offload."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from memosys import MemOS
from memosys.core.errors import (
    ConflictError,
    EmptyInputError,
    InvalidInputError,
    ModelMismatchError,
    NotFoundError,
    PermissionDeniedError,
    StaleError,
    StoreError,
)
from memosys.models.llm import tiny_llama
from memosys.models.llm.fingerprint import weights_hash
from memosys.parametric.serving import adapters_applied
from memosys.parametric.train import TrainConfig

USER = "ana"


def _distill(
    mos: MemOS, ids: list[str], fast: TrainConfig, name: str = "facts", evaluate: bool = False
) -> Any:
    return mos.parametric.distill(
        user_id=USER,
        name=name,
        memory_ids=ids,
        base_model="tiny-llama",
        config=fast,
        evaluate=evaluate,
    )


def test_distill_records_full_provenance(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig, tiny_lm: Any
) -> None:
    record = _distill(mos, fact_ids, fast, evaluate=True)
    info = record.info
    assert info.source_memory_versions == dict.fromkeys(fact_ids, 1)
    assert info.base_model_fingerprint["digest"] == tiny_lm.fingerprint.digest()
    assert info.base_model_fingerprint["weights_hash"] == tiny_lm.fingerprint.weights_hash
    assert info.hyperparameters["rank"] == 4 and info.hyperparameters["lora"]["r"] == 4
    assert info.seed == fast.seed and len(info.loss_curve) == fast.steps
    assert {"recall_cloze", "recall_qa", "ppl_base", "ppl_with_adapter"} <= info.metrics.keys()
    assert record.base_model == "tiny-llama" and not record.stale
    assert record.example_count == 3 * 4  # statement, cloze and two questions per fact
    folder = mos.data_dir / "adapters" / record.cube_id / "facts"  # type: ignore[operator]
    assert folder.is_dir() and record.info.path == str(folder)
    assert [r.name for r in mos.list_adapters(user_id=USER)] == ["facts"]
    assert mos.list_adapters(user_id="bob") == []


def test_an_id_given_twice_is_distilled_once_in_first_place_order(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig, tiny_lm: Any
) -> None:
    repeated = [fact_ids[1], fact_ids[0], fact_ids[1], fact_ids[2], fact_ids[0]]
    record = _distill(mos, repeated, fast)
    assert record.memory_ids == [fact_ids[1], fact_ids[0], fact_ids[2]]
    assert record.example_count == 3 * 4  # as for each fact once
    stored = mos.parametric.adapter("facts", user_id=USER)
    assert sorted(stored.memory_ids) == sorted(fact_ids) and stored.example_count == 3 * 4


@pytest.mark.parametrize("native", [False, True], ids=["emulated bf16", "native bf16"])
def test_bf16_autocast_runs_only_where_the_device_has_it(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig, tiny_lm: Any,
    monkeypatch: pytest.MonkeyPatch, native: bool,
) -> None:
    import torch

    import memosys.parametric.train as train

    enabled: list[bool] = []
    real_autocast = torch.autocast

    def spy(*args: Any, **kwargs: Any) -> Any:
        enabled.append(bool(kwargs.get("enabled", True)))
        return real_autocast(*args, **kwargs)

    monkeypatch.setattr(train, "bf16_is_native", lambda device: native)
    monkeypatch.setattr(torch, "autocast", spy)
    asked = dataclasses.replace(fast, bf16=True)
    record = _distill(mos, fact_ids, asked)
    assert enabled == [native]  # emulated on a CPU without bf16 instructions: 40x slower
    assert record.info.hyperparameters["bf16"] is True
    assert record.info.hyperparameters["bf16_autocast"] is native


def test_memories_chosen_by_filter_and_bad_choices(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig
) -> None:
    mos.add_texts(["A note that is not a fact."], user_id=USER, kind="note")
    record = mos.parametric.distill(
        user_id=USER,
        name="by-filter",
        filters={"kind": "fact"},
        base_model="tiny-llama",
        config=fast,
        evaluate=False,
    )
    assert sorted(record.memory_ids) == sorted(fact_ids)
    with pytest.raises(ConflictError, match="already exists"):
        _distill(mos, fact_ids, fast, name="by-filter")
    with pytest.raises(InvalidInputError, match="memory_ids or with filters"):
        mos.distill(user_id=USER, name="x", base_model="tiny-llama")
    with pytest.raises(EmptyInputError, match="no textual memories"):
        mos.distill(user_id=USER, name="x", filters={"kind": "event"}, base_model="tiny-llama")
    with pytest.raises(InvalidInputError, match="adapter name"):
        mos.distill(user_id=USER, name="../x", memory_ids=fact_ids, base_model="tiny-llama")
    with pytest.raises(InvalidInputError, match="list of memory ids"):
        mos.distill(user_id=USER, name="x", memory_ids=5, base_model="tiny-llama")  # type: ignore[arg-type]


def test_delete_and_update_mark_adapters_stale_and_stale_ones_are_refused(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig, tiny_lm: Any
) -> None:
    _distill(mos, fact_ids[:2], fast, name="first")
    _distill(mos, fact_ids[2:], fast, name="second")
    mos.delete(fact_ids[0], user_id=USER)
    mos.update(fact_ids[2], user_id=USER, content="Kouto Dixsar's favourite dish is Brame.")
    first, second = mos.adapter("first", user_id=USER), mos.adapter("second", user_id=USER)
    assert first.stale and any(fact_ids[0] in reason for reason in first.stale_reasons)
    assert second.stale and any(fact_ids[2] in reason for reason in second.stale_reasons)
    with (
        pytest.raises(StaleError, match="memosys lora rebuild first"),
        adapters_applied(mos, tiny_lm, ["first"], user_id=USER),
    ):
        pass
    with adapters_applied(mos, tiny_lm, ["first", "second"], user_id=USER, allow_stale=True):
        pass


def test_staleness_is_found_from_versions_without_the_event(
    tmp_path: Path, embedder: Any, fact_ids: list[str], mos: MemOS, fast: TrainConfig
) -> None:
    cube_id = _distill(mos, fact_ids, fast).cube_id
    data_dir = mos.data_dir
    mos.close()
    with MemOS.open(data_dir, embedder=embedder) as other:  # it hears the change too
        other.update(fact_ids[1], user_id=USER, content="The employer of Vourtai Lathim is Oomi.")
        heard = other.parametric.store.record(cube_id, "facts")
        assert heard.stale and heard.stale_reasons == [f"memory {fact_ids[1]} updated"]
        unheard = heard.info.model_copy(update={"stale": False})  # as if no listener had run
        other.parametric.store.update_record(
            heard.model_copy(update={"info": unheard, "stale_reasons": []})
        )
    with MemOS.open(data_dir, embedder=embedder) as reopened:
        record = reopened.adapter("facts", user_id=USER)
        assert record.stale and "version 1 -> 2" in record.stale_reasons[0]


def test_adapter_for_another_base_model_is_refused(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig
) -> None:
    _distill(mos, fact_ids, fast)
    with (
        pytest.raises(ModelMismatchError, match="trained on base model 'tiny-llama'"),
        adapters_applied(mos, tiny_llama(seed=1), ["facts"], user_id=USER),
    ):
        pass


def test_rebuild_leaves_out_removed_memories_and_is_fresh(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig
) -> None:
    _distill(mos, fact_ids, fast)
    mos.delete(fact_ids[1], user_id=USER)
    rebuilt = mos.rebuild_adapter("facts", user_id=USER)
    assert not rebuilt.stale and sorted(rebuilt.memory_ids) == sorted([fact_ids[0], fact_ids[2]])
    assert rebuilt.info.hyperparameters["removed_memory_ids"] == [fact_ids[1]]
    assert rebuilt.info.seed == fast.seed and rebuilt.info.hyperparameters["steps"] == fast.steps
    for memory_id in (fact_ids[0], fact_ids[2]):
        mos.delete(memory_id, user_id=USER)
    with pytest.raises(EmptyInputError, match="memosys lora drop facts"):
        mos.rebuild_adapter("facts", user_id=USER)


def test_offload_drops_the_adapter_and_its_memories_stay_searchable(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig
) -> None:
    _distill(mos, fact_ids, fast)
    mos.delete(fact_ids[0], user_id=USER)
    report = mos.offload("facts", user_id=USER)
    assert report.removed == [fact_ids[0]]
    assert sorted(report.served_as_text) == sorted(fact_ids[1:])
    assert mos.list_adapters(user_id=USER) == []
    hits = mos.search("Who employs Vourtai Lathim?", user_id=USER, top_k=1)
    assert hits[0].item.id == fact_ids[1]


def test_generate_with_an_adapter_changes_the_answer_and_leaves_the_base(
    mos: MemOS, fact_ids: list[str], tiny_lm: Any
) -> None:
    strong = TrainConfig(
        rank=4, steps=3, batch_size=4, learning_rate=0.05, replay_weight=0.0, bf16=False
    )
    _distill(mos, fact_ids, strong)
    before = weights_hash(tiny_lm.model)
    ask = {"user_id": USER, "memories": [], "model": "tiny-llama", "max_new_tokens": 6}
    plain = mos.generate("The home city of Pousbrix Sorsin is", **ask)
    adapted = mos.generate("The home city of Pousbrix Sorsin is", adapters=["facts"], **ask)
    assert adapted.adapters == ["facts"] and plain.adapters == []
    assert adapted.token_ids != plain.token_ids
    assert weights_hash(tiny_lm.model) == before
    assert mos.generate("The home city of Pousbrix Sorsin is", **ask).token_ids == plain.token_ids
    mos.delete(fact_ids[0], user_id=USER)
    with pytest.raises(StaleError):
        mos.generate("The home city of Pousbrix Sorsin is", adapters=["facts"], **ask)
    with pytest.raises(StaleError):  # refused at the call, not at the stream's first piece
        mos.generate("The city is", adapters=["facts"], stream=True, **ask)
    with pytest.raises(NotFoundError):
        mos.generate("The city is", adapters=["none"], stream=True, **ask)


def test_llm_questions_are_parsed_and_only_grounded_pairs_are_kept() -> None:
    from memosys.parametric.dataset import sentence_examples
    from memosys.parametric.questions import parse_pairs

    answer = "Q: Where does Zepal live?\nA: Sethax.\nQ: Who is Zepal's pet?\nA: A dragon\n"
    pairs = parse_pairs(answer)
    assert pairs == [("Where does Zepal live?", "Sethax"), ("Who is Zepal's pet?", "A dragon")]
    examples = sentence_examples("Zepal lives in Sethax.", "m1", lambda _sentence: pairs)
    questions = [e.prompt for e in examples if e.kind == "qa"]
    assert questions == ["Question: Where does Zepal live?\nAnswer:"]  # the dragon is invented


def test_distill_with_llm_questions_records_the_choice(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig
) -> None:
    record = mos.parametric.distill(
        user_id=USER,
        name="llm",
        memory_ids=fact_ids[:1],
        base_model="tiny-llama",
        config=fast,
        llm_questions=True,
        evaluate=False,
    )
    assert record.info.hyperparameters["llm_questions"] is True
    assert mos.rebuild_adapter("llm", user_id=USER).info.hyperparameters["llm_questions"] is True


def test_forget_marks_the_adapter_stale_even_beside_a_damaged_one(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig
) -> None:
    damaged = _distill(mos, fact_ids[1:], fast, name="damaged")
    _distill(mos, fact_ids[:1], fast, name="kept")
    folder = mos.data_dir / "adapters" / damaged.cube_id / "damaged"  # type: ignore[operator]
    (folder / "provenance.json").write_text("{", encoding="utf-8")
    mos.forget(fact_ids[0], user_id=USER)
    record = mos.parametric.store.record(damaged.cube_id, "kept")
    assert record.stale and record.stale_reasons == [f"memory {fact_ids[0]} forgotten"]


def test_adapter_changes_are_in_the_audit_log(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig
) -> None:
    distilled = _distill(mos, fact_ids, fast)
    mos.delete(fact_ids[1], user_id=USER)
    mos.rebuild_adapter("facts", user_id=USER)
    mos.offload("facts", user_id=USER)
    _distill(mos, fact_ids[:1], fast, name="one")
    mos.drop_adapter("one", user_id=USER)
    records = reversed(mos.audit_log(user_id=USER, cube=distilled.cube_id))
    assert [(r.action, r.actor, r.detail) for r in records if r.action.startswith("adapter.")] == [
        ("adapter.distill", USER, {"name": "facts", "memories": 3}),
        ("adapter.rebuild", USER, {"name": "facts", "memories": 2}),
        ("adapter.offload", USER, {"name": "facts", "memories": 2}),
        ("adapter.distill", USER, {"name": "one", "memories": 1}),
        ("adapter.drop", USER, {"name": "one", "memories": 1}),
    ]
    assert mos.verify_audit().ok


def test_changes_in_an_instance_that_never_used_the_adapters_reach_them(
    tmp_path: Path, embedder: Any, fast: TrainConfig
) -> None:
    with MemOS.open(tmp_path / "d", embedder=embedder) as first:
        ids = [m.id for m in first.add_texts(["Zorbel keeps bees.", "Ann runs."], user_id=USER)]
        record = _distill(first, ids, fast)
    folder = tmp_path / "d" / "adapters" / record.cube_id
    with MemOS.open(tmp_path / "d", embedder=embedder) as second:  # e.g. `memosys forget`
        second.forget(ids[0], user_id=USER)
    stored = json.loads((folder / "facts" / "provenance.json").read_text(encoding="utf-8"))
    assert stored["info"]["stale"] and stored["stale_reasons"] == [f"memory {ids[0]} forgotten"]
    with MemOS.open(tmp_path / "d", embedder=embedder) as third:
        third.forget_user(USER)  # the cube is gone: so are the weights distilled from it
    assert not folder.exists()


def test_only_the_cube_owner_writes_its_adapters(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig
) -> None:
    mos.create_user("ben")
    record = _distill(mos, fact_ids, fast)
    mos.share_cube(record.cube_id, user_id=USER, with_user="ben", access="write")
    assert [a.name for a in mos.list_adapters(user_id="ben")] == ["facts"]  # reading is fine
    with pytest.raises(PermissionDeniedError, match="only the owner"):
        mos.parametric.distill(
            user_id="ben", name="bens", memory_ids=fact_ids, base_model="tiny-llama", config=fast
        )
    for write in (mos.drop_adapter, mos.rebuild_adapter, mos.offload):
        with pytest.raises(PermissionDeniedError, match="only the owner"):
            write("facts", user_id="ben")
    assert [a.name for a in mos.list_adapters(user_id=USER)] == ["facts"]


def test_a_damaged_adapter_can_be_dropped_and_does_not_block_the_others(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig, tiny_lm: Any
) -> None:
    damaged = _distill(mos, fact_ids[1:], fast, name="damaged")
    _distill(mos, fact_ids[:1], fast, name="kept")
    folder = mos.data_dir / "adapters" / damaged.cube_id / "damaged"  # type: ignore[operator]
    (folder / "provenance.json").write_text("{", encoding="utf-8")
    assert [a.name for a in mos.list_adapters(user_id=USER)] == ["kept"]
    assert mos.adapter("kept", user_id=USER).name == "kept"
    with adapters_applied(mos, tiny_lm, ["kept"], user_id=USER):
        pass
    with pytest.raises(StoreError, match="damaged.*memosys lora drop damaged"):
        mos.adapter("damaged", user_id=USER)
    dropped = mos.drop_adapter("damaged", user_id=USER)  # as the error says
    assert dropped.stale and "unreadable provenance.json" in dropped.stale_reasons[0]
    assert not folder.exists()
    with pytest.raises(NotFoundError):
        mos.drop_adapter("damaged", user_id=USER)


def test_an_adapter_holding_a_forgotten_memory_is_refused_even_when_stale_is_allowed(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig, tiny_lm: Any
) -> None:
    _distill(mos, fact_ids, fast)
    _distill(mos, fact_ids[1:], fast, name="deleted")
    mos.delete(fact_ids[1], user_id=USER)
    with adapters_applied(mos, tiny_lm, ["deleted"], user_id=USER, allow_stale=True):
        pass  # a deleted memory: stale, usable when asked for
    mos.forget(fact_ids[0], user_id=USER)
    assert mos.adapter("facts", user_id=USER).forgotten_memory_ids == [fact_ids[0]]
    with (
        pytest.raises(StaleError, match="forgotten memories.*memosys lora rebuild facts"),
        adapters_applied(mos, tiny_lm, ["facts"], user_id=USER, allow_stale=True),
    ):
        pass
    ask = {"user_id": USER, "memories": [], "model": "tiny-llama", "max_new_tokens": 2}
    with pytest.raises(StaleError, match="forgotten"):
        mos.generate("q", adapters=["facts"], allow_stale_adapters=True, **ask)
    rebuilt = mos.rebuild_adapter("facts", user_id=USER)
    assert rebuilt.forgotten_memory_ids == [] and fact_ids[0] not in rebuilt.memory_ids
    with adapters_applied(mos, tiny_lm, ["facts"], user_id=USER):
        pass


def test_a_shared_cube_never_makes_a_users_own_adapter_name_ambiguous(
    mos: MemOS, fact_ids: list[str], fast: TrainConfig
) -> None:
    mos.create_user("ben")
    bens = [m.id for m in mos.add_texts(["Ben sails on Sundays."], user_id="ben")]
    _distill(mos, fact_ids, fast)
    mos.parametric.distill(
        user_id="ben", name="facts", memory_ids=bens, base_model="tiny-llama", config=fast,
        evaluate=False,
    )
    mos.share_cube("default", user_id=USER, with_user="ben")
    assert mos.adapter("facts", user_id="ben").memory_ids == bens
    ask = {"user_id": "ben", "memories": [], "model": "tiny-llama", "max_new_tokens": 2}
    assert mos.generate("Who sails?", adapters=["facts"], **ask).adapters == ["facts"]

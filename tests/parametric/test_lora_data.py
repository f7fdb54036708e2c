"""Synthetic facts and the rule-made training data."""

from __future__ import annotations

import pytest

from memosys.core.errors import EmptyInputError, InvalidInputError
from memosys.parametric.dataset import SourceMemory, build_examples, qa_prompt
from memosys.parametric.evaluate import Probe, is_recalled
from memosys.parametric.synthetic import synthetic_facts


def test_synthetic_facts_are_deterministic_and_about_distinct_subjects() -> None:
    facts = synthetic_facts(20, seed=3)
    assert facts == synthetic_facts(20, seed=3) and facts != synthetic_facts(20, seed=4)
    assert len({f.subject for f in facts}) == 20
    assert all(f.statement.startswith(f.cloze_prompt + " ") for f in facts)


def test_several_facts_per_subject_use_different_attributes() -> None:
    facts = synthetic_facts(6, per_subject=2)
    assert [f.subject for f in facts][::2] == [f.subject for f in facts][1::2]
    assert all(a.relation != b.relation for a, b in zip(facts[::2], facts[1::2], strict=True))
    with pytest.raises(InvalidInputError, match="per_subject"):
        synthetic_facts(3, per_subject=9)


def test_heldout_questions_never_appear_in_the_training_data() -> None:
    facts = synthetic_facts(18)
    examples = build_examples([SourceMemory(str(i), 1, f.statement) for i, f in enumerate(facts)])
    prompts = {e.prompt for e in examples}
    assert all(qa_prompt(f.question) in prompts for f in facts)
    assert not {qa_prompt(q) for f in facts for q in f.heldout_questions} & prompts


def test_examples_of_attribute_and_other_sentences() -> None:
    examples = build_examples(
        [SourceMemory("m1", 1, "Maya's favourite colour is green. Maya moved to Lisbon in 2021.")]
    )
    forms = [(e.kind, e.prompt, e.completion) for e in examples]
    assert ("cloze", "Maya's favourite colour is", " green") in forms
    assert ("qa", qa_prompt("What is the favourite colour of Maya?"), " green.") in forms
    assert ("cloze", "Maya moved to Lisbon in", " 2021") in forms
    assert sum(kind == "statement" for kind, _, _ in forms) == 2
    with pytest.raises(EmptyInputError):
        build_examples([])


@pytest.mark.parametrize(
    ("kind", "completion", "recalled"),
    [
        ("cloze", " Sterfou.", True),
        ("cloze", " Sterfouville", False),
        ("cloze", " the city of Sterfou", False),
        ("qa", " It is Sterfou.\nMore text", True),
        ("qa", " Paris.\nSterfou", False),
    ],
)
def test_exact_match_rules(kind: str, completion: str, recalled: bool) -> None:
    assert is_recalled(Probe("p", "Sterfou", kind), completion) is recalled  # type: ignore[arg-type]

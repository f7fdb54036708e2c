"""``memosys lora ...`` end to end on the tiny random Llama."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from memosys.cli import cli
from memosys.cli.options import CliState

EVAL_KEYS = {
    "recall_base",
    "recall_with_adapter",
    "qa_base",
    "qa_with_adapter",
    "qa_heldout_with_adapter",
    "ppl_base",
    "ppl_with_adapter",
    "ppl_increase",
    "train_seconds",
}


def _run(data: Path, embedder: Any, *args: str) -> Result:
    result = CliRunner().invoke(
        cli, ["--data", str(data), "--user", "ana", *args], obj=CliState(embedder=embedder)
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_distill_list_show_rebuild_drop(fresh_data_dir: Path, embedder: Any) -> None:
    data = fresh_data_dir
    _run(
        data,
        embedder,
        "add",
        "--kind",
        "fact",
        "--text",
        "The home city of Zepal Dragre is Sethax.",
    )
    distilled = json.loads(
        _run(
            data,
            embedder,
            "lora",
            "distill",
            "--name",
            "facts",
            "--filter",
            '{"kind": "fact"}',
            "--model",
            "tiny-llama",
            "--steps",
            "2",
            "--rank",
            "4",
            "--json",
        ).stdout
    )
    assert distilled["name"] == "facts" and len(distilled["info"]["loss_curve"]) == 2
    progress = _run(data, embedder, "lora", "rebuild", "facts").stderr
    assert "rebuilding facts" in progress and "2/2 loss" in progress
    (row,) = json.loads(_run(data, embedder, "lora", "list", "--json").stdout)
    assert row["name"] == "facts" and row["state"] == "fresh" and row["memories"] == 1
    shown = json.loads(_run(data, embedder, "lora", "show", "facts", "--json").stdout)
    assert shown["info"]["hyperparameters"]["rank"] == 4
    report = json.loads(_run(data, embedder, "lora", "drop", "facts", "--offload", "--json").stdout)
    assert len(report["served_as_text"]) == 1 and report["removed"] == []
    assert json.loads(_run(data, embedder, "lora", "list", "--json").stdout) == []


def test_missing_adapter_is_a_clean_error(fresh_data_dir: Path, embedder: Any) -> None:
    result = CliRunner().invoke(
        cli, ["--data", str(fresh_data_dir), "lora", "show", "nope"],
        obj=CliState(embedder=embedder)
    )
    assert result.exit_code == 2 and "NotFoundError: adapter 'nope' not found" in result.stderr


def test_eval_prints_one_json_object(tmp_path: Path, embedder: Any) -> None:
    result = _run(
        tmp_path,
        embedder,
        "lora",
        "eval",
        "--synthetic",
        "2",
        "--model",
        "tiny-llama",
        "--steps",
        "2",
        "--rank",
        "4",
        "--json",
    )
    figures = json.loads(result.stdout)
    assert figures.keys() >= EVAL_KEYS and figures["facts"] == 2
    assert 0.0 <= figures["recall_with_adapter"] <= 1.0 and figures["ppl_base"] > 1

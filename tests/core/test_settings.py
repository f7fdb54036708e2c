"""load_settings: the file, then the environment, then keyword overrides, setting by setting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from memosys.core.errors import ConfigurationError
from memosys.settings import HashEmbedderConfig, MiniLMOnnxConfig, load_settings


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """A settings file as a data directory keeps it: a float32 embedder, a tuned store."""
    file = tmp_path / "settings.json"
    file.write_text(json.dumps({
        "embedder": {"provider": "minilm-onnx", "precision": "float32", "max_tokens": 128},
        "store": {"ann_threshold": 1234},
    }), encoding="utf-8")
    return file


def test_an_environment_variable_changes_only_the_setting_it_names(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMOSYS_EMBEDDER__THREADS", "2")
    monkeypatch.setenv("MEMOSYS_STORE__LOCK_TIMEOUT_S", "3")
    settings = load_settings(saved)
    assert settings.embedder == MiniLMOnnxConfig(precision="float32", max_tokens=128, threads=2)
    assert (settings.store.ann_threshold, settings.store.lock_timeout_s) == (1234, 3.0)


def test_overrides_win_over_the_environment_setting_by_setting(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMOSYS_EMBEDDER__THREADS", "2")
    monkeypatch.setenv("MEMOSYS_EMBEDDER__MAX_TOKENS", "64")
    settings = load_settings(saved, embedder={"max_tokens": 32})
    assert settings.embedder == MiniLMOnnxConfig(precision="float32", max_tokens=32, threads=2)


def test_naming_another_provider_replaces_the_embedder_section(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(saved, embedder={"provider": "hash"}).embedder == HashEmbedderConfig()
    monkeypatch.setenv("MEMOSYS_EMBEDDER__PROVIDER", "hash")
    monkeypatch.setenv("MEMOSYS_EMBEDDER__DIMENSIONS", "64")
    assert load_settings(saved).embedder == HashEmbedderConfig(dimensions=64)


def test_a_bad_environment_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMOSYS_EMBEDDER__THREADS", "many")
    with pytest.raises(ConfigurationError, match="threads"):
        load_settings()
    monkeypatch.setenv("MEMOSYS_STORE", "{not json")
    with pytest.raises(ConfigurationError, match="store"):
        load_settings()


def test_a_variable_naming_one_job_keeps_the_other_jobs_scheduled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Any
) -> None:
    from memosys import MemOS
    from memosys.settings import DEFAULT_SCHEDULE

    monkeypatch.setenv("MEMOSYS_LIFECYCLE__SCHEDULE__DECAY", "0")
    expected = {**DEFAULT_SCHEDULE, "decay": 0.0}
    assert load_settings().lifecycle.schedule == expected
    assert load_settings(embedder={"provider": "hash"}).lifecycle.schedule == expected
    with MemOS.open(tmp_path / "new", embedder=embedder) as mos:  # a new directory saves it
        assert mos.settings.lifecycle.schedule == expected
    monkeypatch.delenv("MEMOSYS_LIFECYCLE__SCHEDULE__DECAY")
    with MemOS.open(tmp_path / "new", embedder=embedder) as mos:
        assert mos.settings.lifecycle.schedule == expected


def test_a_bad_environment_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMOSYS_RETRIEVAL__CANDIDATES", "abc")
    monkeypatch.setenv("MEMOSYS_EMBEDDER__PROVIDER", "bogus")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = raised.value.message
    assert "\n" not in message and "errors.pydantic.dev" not in message
    assert "retrieval.candidates: Input should be a valid integer" in message
    assert "MEMOSYS_RETRIEVAL__CANDIDATES='abc'" in message
    assert "MEMOSYS_EMBEDDER__PROVIDER='bogus'" in message
    monkeypatch.delenv("MEMOSYS_RETRIEVAL__CANDIDATES")
    monkeypatch.delenv("MEMOSYS_EMBEDDER__PROVIDER")
    monkeypatch.setenv("MEMOSYS_STORE", "{not json")
    with pytest.raises(ConfigurationError, match="MEMOSYS_STORE='{not json'"):
        load_settings()


def test_a_misspelled_variable_of_a_section_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMOSYS_RETRIEVAL__CANDIDATE", "5")  # candidates
    with pytest.raises(ConfigurationError, match=r"MEMOSYS_RETRIEVAL__CANDIDATE names no "
                       r"setting: retrieval has no 'candidate' \(it has .*candidates"):
        load_settings()
    monkeypatch.delenv("MEMOSYS_RETRIEVAL__CANDIDATE")
    monkeypatch.setenv("MEMOSYS_EMBEDDER__THREAD", "2")
    with pytest.raises(ConfigurationError, match="MEMOSYS_EMBEDDER__THREAD names no setting"):
        load_settings()
    monkeypatch.delenv("MEMOSYS_EMBEDDER__THREAD")
    # what is not a setting's variable is left alone; every provider's fields are known;
    # a mapping's keys are its own
    monkeypatch.setenv("MEMOSYS_HOME", "/somewhere")
    monkeypatch.setenv("MEMOSYS_EMBEDDER__PROVIDER", "hash")
    monkeypatch.setenv("MEMOSYS_EMBEDDER__DIMENSIONS", "64")
    monkeypatch.setenv("MEMOSYS_LIFECYCLE__SCHEDULE__TTL_PURGE", "60")
    settings = load_settings()
    assert settings.lifecycle.schedule["ttl_purge"] == 60

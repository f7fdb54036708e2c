"""Local causal language models (extra ``kv``): loading, fingerprints, greedy generation.

Importing this package loads neither torch nor transformers; they are imported
when a model is loaded.
"""

from memosys.models.llm.fingerprint import ModelFingerprint
from memosys.models.llm.loading import bundled_smollm2_path, load_lm
from memosys.models.llm.runtime import Generation, LocalLM, TokenStream
from memosys.models.llm.tiny import tiny_llama

__all__ = [
    "Generation",
    "LocalLM",
    "ModelFingerprint",
    "TokenStream",
    "bundled_smollm2_path",
    "load_lm",
    "tiny_llama",
]

"""Model-backed components: embedders (and later LLMs, rerankers)."""

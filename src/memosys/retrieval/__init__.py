"""Hybrid retrieval: full text and dense retrievers, fusion, re-scoring, explanation."""

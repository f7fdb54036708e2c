"""Embedders: turn texts into unit-length float32 vectors.

Build one from configuration with :func:`memosys.models.embedders.factory.build_embedder`;
every backend satisfies :class:`memosys.models.embedders.base.Embedder`.
"""

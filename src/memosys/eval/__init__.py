"""Retrieval evaluation harnesses (LoCoMo, LongMemEval) over the public API.

The harnesses are thin: they load a dataset, feed it to :class:`memosys.MemOS`
through ``add`` / ``search`` / ``search_sessions`` and score the rankings with
:mod:`memosys.eval.metrics`. Nothing here touches retrieval internals.
"""

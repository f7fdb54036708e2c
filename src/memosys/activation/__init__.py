"""Activation memory: KV caches of memory blocks, stored per cube and injected as a prefix.

See :class:`~memosys.activation.manager.ActivationMemory` (``MemOS.activation``)
and :func:`~memosys.activation.generation.generate` (``MemOS.generate``).
"""

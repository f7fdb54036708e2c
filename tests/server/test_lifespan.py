"""The app's lifespan: the startup heap leaves the collector's reach; an owned MemOS closes."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import pytest

from memosys import MemOS
from memosys.core.errors import StoreError
from memosys.server.app import create_app


async def _serve_and_stop(app: Any) -> int:
    """Runs the app's startup and shutdown; returns the frozen object count while it serves."""
    async with app.router.lifespan_context(app):
        return gc.get_freeze_count()


@pytest.mark.parametrize("owns_mos", [True, False])
def test_startup_freezes_the_heap_and_shutdown_closes_an_owned_store(
    tmp_path: Path, embedder: Any, owns_mos: bool
) -> None:
    gc.unfreeze()
    mos = MemOS.open(tmp_path, embedder=embedder)
    try:
        app = create_app(mos, owns_mos=owns_mos)
        assert gc.get_freeze_count() == 0
        assert asyncio.run(_serve_and_stop(app)) > 0
        if owns_mos:
            with pytest.raises(StoreError, match="closed"):
                mos.count(user_id="someone")
        else:
            assert mos.count(user_id="someone") == 0
    finally:
        gc.unfreeze()
        mos.close()

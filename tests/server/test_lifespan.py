"""The app's lifespan: the startup heap leaves the collector's reach and the indexes warm
up (/readyz tells when); an owned MemOS closes."""

from __future__ import annotations

import asyncio
import gc
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from memosys import MemOS
from memosys.core.errors import StoreError
from memosys.server.app import create_app
from memosys.server.settings import ServerSettings
from memosys.settings import load_settings


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


@pytest.mark.parametrize("warm", [True, False])
def test_startup_warms_the_search_indexes_unless_told_not_to(
    tmp_path: Path, embedder: Any, warm: bool
) -> None:
    settings = load_settings(store={"text_mirror_inline_rows": 10})  # loads in the background
    with MemOS.open(tmp_path, embedder=embedder, settings=settings) as mos:
        mos.add_texts([f"note {n} on the red kite" for n in range(30)], user_id="ana")
    with MemOS.open(tmp_path, embedder=embedder) as mos:
        app = create_app(mos, ServerSettings(warm_indexes=warm))

        async def serve() -> None:
            async with app.router.lifespan_context(app):
                if warm:
                    app.state.warming.join(timeout=60)
                else:
                    assert app.state.warming is None

        try:
            asyncio.run(serve())
        finally:
            gc.unfreeze()
        store: Any = mos.store
        assert (store._text.nbytes() > 0) is warm
        assert bool(store._vectors._cubes) is warm


def test_readyz_answers_503_while_warming_and_200_once_warm(
    tmp_path: Path, embedder: Any
) -> None:
    with MemOS.open(tmp_path, embedder=embedder) as mos:
        mos.add_texts(["the red kite nests in the oak"], user_id="ana")
    with MemOS.open(tmp_path, embedder=embedder) as mos:
        app = create_app(mos)
        store: Any = mos.store
        transport = httpx.ASGITransport(app=app)

        async def serve() -> list[tuple[int, str]]:
            seen = []
            async with AsyncExitStack() as serving, httpx.AsyncClient(
                transport=transport, base_url="http://memosys"
            ) as client:
                with store._vectors.lock:  # the warm-up waits for it to load the cube
                    await serving.enter_async_context(app.router.lifespan_context(app))
                    response = await client.get("/readyz")
                    seen.append((response.status_code, response.json()["status"]))
                app.state.warming.join(timeout=60)  # the lock let go of: the warm-up ends
                response = await client.get("/readyz")
                seen.append((response.status_code, response.json()["status"]))
            return seen

        try:
            assert asyncio.run(serve()) == [(503, "warming"), (200, "ready")]
        finally:
            gc.unfreeze()

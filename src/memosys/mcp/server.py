"""The memosys MCP server: memory tools for one user, on the official ``mcp`` SDK.

Five tools act for the user given at start on an embedded :class:`MemOS`:
``add_memory``, ``search_memory``, ``get_memory``, ``delete_memory`` and
``list_cubes``. Each returns structured JSON; a :class:`MemosysError` (bad input,
a missing id, ...) comes back as an error result whose text starts with the
error's name, e.g. ``NotFoundError: memory 'x' not found``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, Field

from memosys.core.errors import InvalidInputError, MemosysError, missing_dependency

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from memosys.api.local import MemOS
    from memosys.core.cube import MemCube
    from memosys.core.items import MemoryItem
    from memosys.core.results import SearchHit

P = ParamSpec("P")
R = TypeVar("R")
Transport = Literal["stdio", "http"]
SERVER_NAME = "memosys"
INSTRUCTIONS = (
    "Long-term memory for this conversation. Store facts, preferences and events with "
    "add_memory; before answering, look up what you know with search_memory."
)
# the fields of an item that a tool result shows besides get_memory's full record
SUMMARY_FIELDS = (
    "id", "cube_id", "kind", "content", "session_id", "speaker", "tags", "created_at", "event_time",
)


class Message(BaseModel):
    """One conversation message to remember."""

    role: str = Field(description="Who spoke: user, assistant, system or a tool.")
    content: str = Field(description="What was said.")
    name: str | None = Field(None, description="The speaker's name, if known.")
    timestamp: str | None = Field(None, description="When it was said (ISO 8601).")


def summary(item: MemoryItem) -> dict[str, Any]:
    """The JSON fields of an item that an assistant needs to use it."""
    data = item.model_dump(mode="json", include=set(SUMMARY_FIELDS))
    return {name: data[name] for name in SUMMARY_FIELDS}


def cube_summary(cube: MemCube) -> dict[str, Any]:
    """A cube as JSON, without its internal settings."""
    fields = {"id", "name", "owner", "description", "created_at"}
    return cube.model_dump(mode="json", include=fields)


def hit_summary(hit: SearchHit) -> dict[str, Any]:
    """A search hit: the item's summary with its score and a one-line explanation."""
    return {**summary(hit.item), "score": hit.score, "why": hit.explain.summary()}


def reported(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`MemosysError` into an MCP tool error that names the error class."""
    from mcp.server.mcpserver.exceptions import ToolError

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MemosysError as exc:
            raise ToolError(f"{exc.error_name()}: {exc.message}") from exc

    return wrapper


class MemoryTools:
    """The tool functions, bound to one memory system, one user and a default cube for writes."""

    def __init__(self, mos: MemOS, user_id: str, cube: str | None = None) -> None:
        self._mos = mos
        self._user = user_id
        self._cube = cube

    def add_memory(
        self,
        content: Annotated[
            str | None, Field(description="A fact, preference or note to remember.")
        ] = None,
        messages: Annotated[
            list[Message] | None,
            Field(description="Conversation messages to remember instead of `content`."),
        ] = None,
        cube: Annotated[
            str | None, Field(description="Cube name or id (default: the server's cube).")
        ] = None,
        kind: Annotated[
            str, Field(description="Kind of a `content` memory: note, fact, preference, event.")
        ] = "note",
        tags: Annotated[list[str] | None, Field(description="Tags to file it under.")] = None,
        session_id: Annotated[
            str | None, Field(description="Conversation the `messages` belong to.")
        ] = None,
        metadata: Annotated[
            dict[str, Any] | None, Field(description="Your own JSON metadata, kept verbatim.")
        ] = None,
    ) -> dict[str, Any]:
        """Remember a text (`content`) or conversation `messages`; give exactly one."""
        if (content is None) == (messages is None):
            raise InvalidInputError("give exactly one of `content` (a text) or `messages` (a list)")
        cube = cube or self._cube
        if messages is not None:
            items = self._mos.add(
                [m.model_dump(exclude_none=True) for m in messages],
                user_id=self._user,
                cube=cube,
                session_id=session_id,
                metadata=metadata,
                tags=tags,
            )
        else:
            items = self._mos.add_texts(
                [str(content)],
                user_id=self._user,
                cube=cube,
                kind=kind,
                tags=tags,
                metadatas=None if metadata is None else [metadata],
            )
        return {"items": [summary(item) for item in items]}

    def search_memory(
        self,
        query: Annotated[str, Field(description="What to look for, in plain words.")],
        cube: Annotated[str | None, Field(description="Only this cube (default: all).")] = None,
        top_k: Annotated[int, Field(ge=1, le=100, description="How many hits at most.")] = 5,
        filters: Annotated[
            dict[str, Any] | None,
            Field(description='A memosys filter, e.g. {"kind": "fact"} or {"tags": "work"}.'),
        ] = None,
        mode: Annotated[
            Literal["hybrid", "bm25", "dense"],
            Field(description="hybrid (default), bm25 (keywords) or dense (meaning)."),
        ] = "hybrid",
    ) -> dict[str, Any]:
        """Find the memories that best match `query`, best first."""
        hits = self._mos.search(
            query, user_id=self._user, cube=cube, top_k=top_k, filters=filters, mode=mode
        )
        return {"hits": [hit_summary(hit) for hit in hits]}

    def get_memory(
        self, id: Annotated[str, Field(description="The memory's id.")]
    ) -> dict[str, Any]:
        """One memory with all its metadata."""
        item: dict[str, Any] = self._mos.get(id, user_id=self._user).model_dump(mode="json")
        return item

    def delete_memory(
        self, id: Annotated[str, Field(description="The memory's id.")]
    ) -> dict[str, Any]:
        """Forget a memory for good."""
        self._mos.delete(id, user_id=self._user)
        return {"deleted": id}

    def list_cubes(self) -> dict[str, Any]:
        """The cubes (memory collections) this user can read."""
        return {"cubes": [cube_summary(c) for c in self._mos.list_cubes(user_id=self._user)]}


def build_server(mos: MemOS, user_id: str, cube: str | None = None) -> MCPServer:
    """An MCP server whose tools act as ``user_id`` on ``mos``.

    ``cube`` is where ``add_memory`` writes when the call names no cube
    (default: the user's cube ``default``); searches cover every cube of the user.
    """
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError as exc:
        raise missing_dependency("mcp>=2.3", "server") from exc
    from memosys import __version__
    from memosys.api.cubes import checked_name

    tools = MemoryTools(mos, checked_name(user_id, "user_id"), cube)
    server: MCPServer = MCPServer(
        SERVER_NAME, instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    for tool in (
        tools.add_memory,
        tools.search_memory,
        tools.get_memory,
        tools.delete_memory,
        tools.list_cubes,
    ):
        server.add_tool(reported(tool), name=tool.__name__, structured_output=True)
    return server


def serve(
    mos: MemOS,
    user_id: str,
    *,
    cube: str | None = None,
    transport: Transport = "stdio",
    host: str = "127.0.0.1",
    port: int = 8766,
) -> None:
    """Run the MCP server until it is stopped (stdio: until stdin closes).

    Over HTTP the endpoint is ``http://HOST:PORT/mcp`` (streamable HTTP).
    """
    server = build_server(mos, user_id, cube)
    if transport == "stdio":
        server.run("stdio")
    elif transport == "http":
        server.run("streamable-http", host=host, port=port)
    else:
        raise InvalidInputError(f"transport must be 'stdio' or 'http', got {transport!r}")

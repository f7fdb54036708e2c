"""The memosys MCP server: memory tools on the official ``mcp`` SDK.

Six tools work on an embedded :class:`MemOS`: ``add_memory``,
``search_memory``, ``get_memory``, ``delete_memory``, ``forget_memory`` and
``list_cubes``. Over
stdio they act as the user given at start; over streamable HTTP every request
needs an API key (:mod:`memosys.mcp.auth`) and the tools act as that key's
user, with the REST API's isolation and audit. Each returns structured JSON;
a :class:`MemosysError` (bad input, a missing id, ...) comes back as an error
result whose text names the error, e.g. ``NotFoundError: memory 'x' not
found``; so do arguments that fail validation (``InvalidInputError``), unknown
argument keys included (:mod:`memosys.mcp.strict`).
"""

from __future__ import annotations

import functools
import inspect
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from memosys.core.context import bind_request
from memosys.core.errors import AuthenticationError, InvalidInputError, missing_dependency
from memosys.core.ids import new_id
from memosys.server.settings import ServerSettings

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context, MCPServer

    from memosys.api.local import MemOS
    from memosys.core.cube import MemCube
    from memosys.core.items import MemoryItem
    from memosys.core.results import SearchHit

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

    model_config = ConfigDict(extra="forbid")

    role: str = Field(description="Who spoke: user, assistant, system or a tool.")
    content: str = Field(description="What was said.")
    name: str | None = Field(None, description="The speaker's name, if known.")
    timestamp: str | None = Field(None, description="When it was said (ISO 8601).")
    metadata: dict[str, Any] | None = Field(
        None, description="Your own JSON metadata for this message, kept verbatim."
    )


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


def as_tool(method: Callable[..., dict[str, Any]], local_user: str | None) -> Callable[..., Any]:
    """``method`` (a :class:`MemoryTools` method) as an MCP tool acting for the caller.

    The tool takes the method's arguments but ``user_id``, plus the SDK's
    request context, from which the user comes: the principal of the API key
    over HTTP (inside its request's audit context), else ``local_user``. A
    :class:`MemosysError` becomes a tool error that names the error class.
    """
    from mcp.server.mcpserver import Context

    from memosys.core.errors import MemosysError
    from memosys.mcp.auth import request_id, request_principal
    from memosys.mcp.strict import tool_error

    def call(ctx: Context, **kwargs: Any) -> dict[str, Any]:
        request = ctx.request_context.request
        principal = request_principal(request)
        if principal is not None:
            with bind_request(request_id(request) or new_id(), principal.user_id):
                return method(user_id=principal.user_id, **kwargs)
        if local_user is None:  # an HTTP request that no ApiKeyGate checked
            raise AuthenticationError("this MCP server needs an API key")
        return method(user_id=local_user, **kwargs)

    @functools.wraps(method)
    def tool(ctx: Context, **kwargs: Any) -> dict[str, Any]:
        try:
            return call(ctx, **kwargs)
        except MemosysError as exc:
            raise tool_error(exc) from exc

    # the SDK reads the tool's arguments from its signature: the method's, with ctx for user_id
    signature = inspect.signature(method, eval_str=True)
    params = [p for name, p in signature.parameters.items() if name != "user_id"]
    params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    tool.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in params}
    tool.__annotations__["return"] = signature.return_annotation
    return tool


class MemoryTools:
    """The tool functions on one memory system, each acting for ``user_id``, with a default
    cube for writes."""

    def __init__(self, mos: MemOS, cube: str | None = None) -> None:
        self._mos = mos
        self._cube = cube

    def add_memory(
        self,
        user_id: str,
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
        cube = self._cube if cube is None else cube
        if messages is not None:
            items = self._mos.add(
                [m.model_dump(exclude_none=True) for m in messages],
                user_id=user_id,
                cube=cube,
                session_id=session_id,
                metadata=metadata,
                tags=tags,
            )
        else:
            items = self._mos.add_texts(
                [str(content)],
                user_id=user_id,
                cube=cube,
                kind=kind,
                tags=tags,
                metadatas=None if metadata is None else [metadata],
            )
        return {"items": [summary(item) for item in items]}

    def search_memory(
        self,
        user_id: str,
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
            query, user_id=user_id, cube=cube, top_k=top_k, filters=filters, mode=mode
        )
        return {"hits": [hit_summary(hit) for hit in hits]}

    def get_memory(
        self, user_id: str, id: Annotated[str, Field(description="The memory's id.")]
    ) -> dict[str, Any]:
        """One memory with all its metadata."""
        item: dict[str, Any] = self._mos.get(id, user_id=user_id).model_dump(mode="json")
        return item

    def delete_memory(
        self, user_id: str, id: Annotated[str, Field(description="The memory's id.")]
    ) -> dict[str, Any]:
        """Delete a memory: it no longer shows in searches, lists or get_memory, but
        its versions are kept and it can be restored. To erase it for good, use
        forget_memory."""
        self._mos.delete(id, user_id=user_id)
        return {"deleted": id}

    def forget_memory(
        self, user_id: str, id: Annotated[str, Field(description="The memory's id.")]
    ) -> dict[str, Any]:
        """Erase a memory for good, with all its versions, from everywhere memosys keeps
        it. It cannot be restored: use this only when the user asks for it to be erased."""
        self._mos.forget(id, user_id=user_id)
        return {"forgotten": id}

    def list_cubes(self, user_id: str) -> dict[str, Any]:
        """The cubes (memory collections) this user can read."""
        return {"cubes": [cube_summary(c) for c in self._mos.list_cubes(user_id=user_id)]}


def build_server(mos: MemOS, user_id: str | None, cube: str | None = None) -> MCPServer:
    """An MCP server whose tools work on ``mos``.

    They act as ``user_id``, or, when it is None, as the user of the API key
    that :class:`~memosys.mcp.auth.ApiKeyGate` accepted for the request (a
    call without one is refused). ``cube`` is where ``add_memory`` writes
    when the call names no cube (default: the user's cube ``default``);
    searches cover every cube the user owns.
    """
    try:
        from memosys.mcp.strict import StrictServer, strict_tool
    except ImportError as exc:
        raise missing_dependency("mcp>=2.3", "server") from exc
    from memosys import __version__
    from memosys.api.cubes import checked_user_id

    local_user = None if user_id is None else checked_user_id(user_id)
    tools = MemoryTools(mos, cube)
    methods = (
        tools.add_memory,
        tools.search_memory,
        tools.get_memory,
        tools.delete_memory,
        tools.forget_memory,
        tools.list_cubes,
    )
    return StrictServer(
        SERVER_NAME,
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
        tools=[strict_tool(as_tool(method, local_user)) for method in methods],
    )


def http_app(
    mos: MemOS, cube: str | None = None, host: str = "127.0.0.1",
    limits: ServerSettings | None = None,
) -> Any:
    """The streamable HTTP app (endpoint ``/mcp``) whose requests need an API key.

    Its tools act as the key's user; ``host`` is the address it will be served
    on (on loopback, the SDK also refuses requests for other host names). A body
    over ``limits.max_body_bytes``, or slower than ``limits.body_timeout_s``, gets
    413 or 408 as from the REST API, once the key is accepted. ``GET /healthz``
    needs no key.
    """
    from memosys.mcp.auth import ApiKeyGate
    from memosys.mcp.health import Healthz
    from memosys.server.limits import BodyLimitMiddleware
    from memosys.server.request_ids import RequestIdMiddleware

    limits = limits or ServerSettings()
    sdk_app = build_server(mos, None, cube).streamable_http_app(host=host)
    limited = BodyLimitMiddleware(sdk_app, limits.max_body_bytes, limits.body_timeout_s)
    return RequestIdMiddleware(Healthz(ApiKeyGate(limited, mos)))


def serve(
    mos: MemOS,
    user_id: str,
    *,
    cube: str | None = None,
    transport: Transport = "stdio",
    host: str = "127.0.0.1",
    port: int = 8766,
    limits: ServerSettings | None = None,
    tls: ssl.SSLContext | None = None,
    trusted_proxies: str | None = None,
) -> None:
    """Run the MCP server until it is stopped (stdio: until stdin closes).

    Over stdio the tools act as ``user_id``. Over HTTP the endpoint is
    ``http://HOST:PORT/mcp`` (streamable HTTP; ``https://`` with a ``tls`` context
    from :func:`memosys.server.tls.tls_context`); each request but ``GET /healthz``
    needs ``Authorization: Bearer <api key>`` and acts as the key's user, within the
    request limits and logs of ``memosys serve`` (``limits``: body size, body and head
    time, log level: the access log names each request's id).
    ``trusted_proxies`` (comma-separated addresses) may name the client in
    ``X-Forwarded-For``, as in ``memosys serve``.
    """
    if transport == "stdio":
        build_server(mos, user_id, cube).run("stdio")
    elif transport == "http":
        import uvicorn

        from memosys.server.access_log import log_config
        from memosys.server.header_timeout import header_timeout_protocol
        from memosys.server.https_port import https_port
        from memosys.server.proxies import proxy_options

        limits = limits or ServerSettings()
        http = header_timeout_protocol(limits.header_timeout_s)
        uvicorn.run(http_app(mos, cube, host, limits), host=host, port=port,
                    log_level=limits.log_level, log_config=log_config(https=bool(tls)),
                    http=https_port(http, tls) if tls else http, **proxy_options(trusted_proxies))
    else:
        raise InvalidInputError(f"transport must be 'stdio' or 'http', got {transport!r}")

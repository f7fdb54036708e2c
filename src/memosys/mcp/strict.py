"""Strict tool arguments on the ``mcp`` SDK: unknown keys are refused, and bad
arguments come back as ``InvalidInputError`` like every other tool error.

The SDK builds each tool's arguments model from the function's signature with
pydantic's default of ignoring unknown keys, and has no setting for it;
:func:`strict_tool` swaps that model for a subclass that forbids them (the SDK
reads ``fn_metadata.arg_model`` on every call). The SDK validates the arguments
before the tool function runs and reports a failure as pydantic's raw text;
:class:`StrictServer` turns it into the error's fields and problems.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import ValidationError, create_model

from memosys.core.errors import MemosysError, invalid_fields


def tool_error(exc: MemosysError) -> ToolError:
    """The tool error for a memosys error; its text starts with the error's name."""
    return ToolError(f"{exc.error_name()}: {exc.message}")


def strict_tool(fn: Callable[..., Any]) -> Tool:
    """``fn`` as a tool with structured output whose arguments may hold only its parameters."""
    tool = Tool.from_function(fn, structured_output=True)
    loose = tool.fn_metadata.arg_model
    tool.fn_metadata.arg_model = create_model(
        loose.__name__, __base__=loose, __cls_kwargs__={"extra": "forbid"}
    )
    tool.parameters = tool.fn_metadata.arg_model.model_json_schema(by_alias=True)
    return tool


class StrictServer(MCPServer[Any]):
    """An MCP server that reports arguments that fail validation as ``InvalidInputError``."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            error = tool_error(invalid_fields(cause.errors(), "arguments"))
            # the SDK's prefix, as on the errors the tools raise; the cause keeps its log
            # of the failed arguments to field names
            raise ToolError(f"Error executing tool {name}: {error}") from cause

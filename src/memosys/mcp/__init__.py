"""The MCP server of memosys (``memosys mcp``): memory tools for LLM agents."""

"""Settings of the REST server (host, port, request limits and CORS)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from memosys.server.cors import checked_origins

DEFAULT_PORT = 8765
DEFAULT_HEADER_TIMEOUT_S = 20.0


class ServerSettings(BaseModel):
    """Where the server listens and how large a request may be.

    Batch sizes are limited by the reader (``reader.max_batch_items`` of the
    memosys settings), so the server and the library refuse the same batches.
    """

    host: str = "127.0.0.1"
    port: int = Field(DEFAULT_PORT, ge=0, le=65535)
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="larger bodies get 413")
    body_timeout_s: float = Field(
        60.0, gt=0, le=3600, description="a body that takes longer to arrive gets 408 (a slow "
        "client would hold a connection and its buffered bytes for as long as it liked)"
    )
    header_timeout_s: float = Field(
        DEFAULT_HEADER_TIMEOUT_S, gt=0, le=3600, description="a request line and headers that "
        "take longer to arrive get 408 (a slow client would hold a connection for as long as "
        "it liked; see memosys.server.header_timeout)"
    )
    log_level: str = "info"
    warm_indexes: bool = Field(
        True, description="load the embedding model and the search indexes in the "
        "background at startup"
    )
    write_processes: int = Field(
        0, ge=0, le=64, description="processes that run the adds, so that they do not slow "
        "the searches down (0: adds run in the serving process; see memosys.server.writers)"
    )
    write_niceness: int = Field(
        10, ge=0, le=19, description="how much lower the write processes' CPU priority is"
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="origins (scheme://host[:port]) of the browser apps "
        "that may call the API ('*': every origin, without credentials); none by default"
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        return checked_origins(origins)  # a ConfigurationError naming the fix, not wrapped

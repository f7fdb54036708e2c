"""RemoteMemOS with a user's own key: its user by default, other users refused as missing."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from memosys import MemOS, RemoteMemOS
from memosys.core.errors import (
    InvalidInputError,
    MemosysError,
    NotFoundError,
    PermissionDeniedError,
)
from memosys.server.transport import InProcessTransport


@pytest.fixture(scope="module")
def ana(app: Any, mos: MemOS) -> Any:
    issued = mos.create_user("ana-remote")
    mos.create_user("ben-remote")
    with RemoteMemOS("http://memosys.test", api_key=issued.api_key,
                     transport=InProcessTransport(app)) as client:
        yield client


def test_user_id_defaults_to_the_keys_user(ana: RemoteMemOS, mos: MemOS) -> None:
    assert ana.whoami() == {"user_id": "ana-remote", "admin": False}
    (item,) = ana.add([{"role": "user", "content": "remote hello"}])
    assert item.user_id == "ana-remote"
    assert mos.get(item.id, user_id="ana-remote") == item
    assert ana.get(item.id, user_id="ana-remote") == item


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.list(user_id="ben-remote"),
        lambda c: c.add_texts(["x"], user_id="ben-remote"),
        lambda c: c.search("x", user_id="ben-remote"),
        lambda c: c.list_cubes(user_id="ben-remote"),
        lambda c: c.create_cube("c", owner="ben-remote"),
        lambda c: c.list_keys(user_id="ben-remote"),
        lambda c: c.audit_log(user_id="ben-remote"),
    ],
    ids=["list", "add_texts", "search", "list_cubes", "create_cube", "list_keys", "audit_log"],
)
def test_acting_for_another_user_is_not_found(ana: RemoteMemOS, call: Any) -> None:
    with pytest.raises(NotFoundError):
        call(ana)


def test_admin_only_calls_are_refused(ana: RemoteMemOS) -> None:
    with pytest.raises(PermissionDeniedError):
        ana.create_user("mallory")


def test_unreachable_server_names_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        client = RemoteMemOS(f"http://127.0.0.1:{port}", api_key="k", timeout=2)
        with client, pytest.raises(MemosysError, match="cannot reach the memosys server"):
            client.stats()


def test_a_malformed_user_id_is_invalid_not_missing(ana: RemoteMemOS) -> None:
    with pytest.raises(InvalidInputError) as caught:
        ana.list(user_id="")
    assert type(caught.value) is InvalidInputError


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: c.search("x", recency_weight=float("nan")), "recency_weight"),
        (lambda c: c.search("x", importance_weight=float("inf")), "importance_weight"),
        (lambda c: c.update(c.add_texts(["y"])[0].id, importance=float("nan")), "importance"),
        (lambda c: c.add_texts(["x"], metadatas=[{"s": float("nan")}]), "metadatas"),
        (lambda c: c.list(filters={"importance": float("inf")}), "filters"),
    ],
    ids=["recency-weight", "importance-weight", "importance", "metadata", "filter"],
)
def test_non_finite_numbers_are_refused_naming_the_argument(
    ana: RemoteMemOS, call: Any, argument: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        call(ana)
    assert type(caught.value) is InvalidInputError
    assert caught.value.detail == {"field": argument} and argument in str(caught.value)

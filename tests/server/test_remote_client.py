"""RemoteMemOS with a user's own key: its user by default, other users refused as missing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from memosys import MemOS, RemoteMemOS
from memosys.core.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ResponseLostError,
    ServerUnreachableError,
)
from memosys.server.background import BackgroundServer
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
        with client, pytest.raises(ServerUnreachableError, match="cannot reach the memosys "
                                   f"server at http://127.0.0.1:{port}"):
            client.stats()


def test_retries_reach_a_server_that_starts_meanwhile(app: Any, mos: MemOS) -> None:
    issued = mos.create_user("cat-remote")
    server = BackgroundServer(app)  # bound, not yet listening: connections are refused
    with RemoteMemOS(server.url, api_key=issued.api_key, timeout=5, retries=5) as client:
        starting = threading.Thread(target=lambda: (time.sleep(0.3), server.start()))
        starting.start()  # the first tries are refused, a later one (0.5, 1.5, 3.5 s) not
        try:
            assert client.whoami() == {"user_id": "cat-remote", "admin": False}
        finally:
            starting.join()
            server.stop()


def test_unreachable_after_its_retries_says_how_many_tries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with (
            RemoteMemOS(url, api_key="k", retries=1) as client,
            pytest.raises(ServerUnreachableError, match=f"server at {url} in 2 tries"),
        ):
            client.stats()


@contextmanager
def peer(then: Callable[[socket.socket], object]) -> Iterator[str]:
    """The URL of a loopback socket that accepts one connection, reads the request's
    first bytes and then does ``then`` with the connection."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        accepted: list[socket.socket] = []

        def serve() -> None:
            connection, _ = listener.accept()
            accepted.append(connection)
            connection.recv(65536)
            then(connection)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        finally:
            thread.join(10)
            for connection in accepted:
                connection.close()


def test_a_server_that_does_not_answer_in_time_is_a_lost_response() -> None:
    with (
        peer(lambda connection: None) as url,
        RemoteMemOS(url, api_key="k", timeout=0.5) as client,
        pytest.raises(ResponseLostError) as lost,
    ):
        client.add_texts(["kept?"])
    assert "did not answer POST /v1/memories/texts within 0.5 s" in lost.value.message
    assert "look it up before sending it again" in lost.value.message
    assert lost.value.detail == {"url": url, "method": "POST", "path": "/v1/memories/texts"}


def test_a_connection_closed_before_the_answer_is_a_lost_response() -> None:
    with (
        peer(socket.socket.close) as url,
        RemoteMemOS(url, api_key="k", timeout=5) as client,
        pytest.raises(ResponseLostError, match="broke the connection before answering GET /v1/"),
    ):
        client.stats()


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"url": "ftp://127.0.0.1:8765"}, "url"),
        ({"url": "127.0.0.1:8765"}, "url"),
        ({"url": "http://"}, "url"),
        ({"api_key": "msk_a b"}, "api_key"),
        ({"api_key": "msk_a\n"}, "api_key"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"retries": -1}, "retries"),
        ({"retries": 1.5}, "retries"),
        ({"retries": 1, "transport": InProcessTransport(lambda *_: None)}, "retries"),
    ],
)
def test_bad_client_settings_are_invalid_input(arguments: dict[str, Any], field: str) -> None:
    given = {"url": "http://127.0.0.1:8765", "api_key": "msk_key"} | arguments
    with pytest.raises(InvalidInputError, match=field) as refused:
        RemoteMemOS(given.pop("url"), **given)
    assert refused.value.detail == {"field": field}


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

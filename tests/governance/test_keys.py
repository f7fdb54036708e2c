"""API keys: issued once, hashed at rest, revocable; failed sign-ins are rate-limited."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from held_write import on_another_thread, write_held_open
from memosys import ConflictError, MemOS, NotFoundError
from memosys.api.facade import DATABASE_FILE
from memosys.core.clock import FixedClock
from memosys.core.errors import AuthenticationError, InvalidInputError, RateLimitedError
from memosys.governance import Principal
from memosys.governance.models import AuditQuery
from memosys.stores.sqlite.codec import micros
from memosys.stores.sqlite.sign_ins import auth_database_path


def _database_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("memosys.db*")) if p.is_file())


def test_created_key_authenticates_as_its_user(mos: MemOS) -> None:
    issued = mos.create_user("ana")
    assert issued.user_id == "ana" and issued.api_key.startswith("msk_")
    principal = mos.authenticate(issued.api_key)
    assert principal == Principal(user_id="ana", admin=False, key_id=issued.key_id)


def test_plaintext_key_is_never_stored(mos: MemOS, data_dir: Path) -> None:
    issued = mos.create_user("ana")
    second = mos.create_key(user_id="ana", name="laptop")
    mos.authenticate(second.api_key)
    secrets_ = [issued.api_key, second.api_key]
    stored = _database_bytes(data_dir)
    for key in secrets_:
        assert key.encode() not in stored
        assert key[12:].encode() not in stored  # nor the secret part after the prefix
    mos.close()
    stored = _database_bytes(data_dir)  # after the WAL is checkpointed into the file
    assert all(key.encode() not in stored for key in secrets_)


def test_listing_shows_prefix_and_name_but_no_secret(mos: MemOS) -> None:
    issued = mos.create_user("ana")
    mos.create_key(user_id="ana", name="ci")
    keys = mos.list_keys(user_id="ana")
    assert [k.name for k in keys] == ["first key", "ci"]
    assert keys[0].key_id == issued.key_id
    assert issued.api_key.startswith(keys[0].prefix) and len(keys[0].prefix) == 12
    assert "api_key" not in keys[0].model_dump()
    with pytest.raises(NotFoundError, match="memosys user add bob"):
        mos.list_keys(user_id="bob")  # a typo mints and lists nothing
    with pytest.raises(NotFoundError, match="memosys user add bob"):
        mos.create_key(user_id="bob")
    assert mos.store.get_user("bob") is None


def test_revoked_key_stops_working_and_others_keep_working(
    mos: MemOS, clock: FixedClock
) -> None:
    first = mos.create_user("ana")
    second = mos.create_key(user_id="ana")
    mos.revoke_key(first.key_id, user_id="ana")
    with pytest.raises(AuthenticationError, match="invalid or revoked"):
        mos.authenticate(first.api_key)
    assert mos.authenticate(second.api_key).key_id == second.key_id
    revoked = {k.key_id: k.revoked_at for k in mos.list_keys(user_id="ana")}
    assert revoked == {first.key_id: clock.now(), second.key_id: None}
    with pytest.raises(NotFoundError, match="already revoked"):
        mos.revoke_key(first.key_id, user_id="ana")


def test_user_cannot_revoke_another_users_key_but_admin_can(mos: MemOS) -> None:
    ana = mos.create_user("ana")
    mos.create_user("bob")
    with pytest.raises(NotFoundError):
        mos.revoke_key(ana.key_id, user_id="bob")
    assert mos.authenticate(ana.api_key).user_id == "ana"
    admin = mos.ensure_admin_key()
    assert admin is not None
    mos.revoke_key(ana.key_id, user_id=admin.user_id)
    with pytest.raises(AuthenticationError):
        mos.authenticate(ana.api_key)


def test_user_with_keys_cannot_be_created_twice(mos: MemOS) -> None:
    mos.create_user("ana")
    with pytest.raises(ConflictError, match="key create"):
        mos.create_user("ana")


def test_ensure_admin_key_once_until_no_admin_key_is_left(mos: MemOS) -> None:
    issued = mos.ensure_admin_key()
    assert issued is not None and mos.authenticate(issued.api_key).admin is True
    assert mos.ensure_admin_key() is None
    mos.revoke_key(issued.key_id, user_id="admin")
    again = mos.ensure_admin_key()
    assert again is not None and again.user_id == "admin"


def test_admin_flag_comes_from_the_user(mos: MemOS) -> None:
    boss = mos.create_user("boss", admin=True)
    more = mos.create_key(user_id="boss")
    assert mos.authenticate(boss.api_key).admin and mos.authenticate(more.api_key).admin


@pytest.mark.parametrize("bad", ["", "msk_", "nope", "msk_" + "x" * 40, 42, None])
def test_malformed_or_unknown_keys_are_refused(mos: MemOS, bad: object) -> None:
    with pytest.raises(AuthenticationError):
        mos.authenticate(bad)  # type: ignore[arg-type]


def test_repeated_failures_from_one_client_are_rate_limited(
    mos: MemOS, clock: FixedClock
) -> None:
    good = mos.create_user("ana").api_key
    limit = mos.settings.governance.auth_max_failures
    for _ in range(limit):
        with pytest.raises(AuthenticationError):
            mos.authenticate("msk_wrongwrongwrongwrong", client="10.0.0.9")
    with pytest.raises(RateLimitedError, match="too many failed") as caught:
        mos.authenticate(good, client="10.0.0.9")  # even a valid key waits out the window
    assert caught.value.status == 429 and caught.value.detail["retry_after_s"] > 0
    assert mos.authenticate(good, client="10.0.0.10").user_id == "ana"  # other clients unaffected
    clock.set(clock.now() + timedelta(seconds=mos.settings.governance.auth_window_s))
    assert mos.authenticate(good, client="10.0.0.9").user_id == "ana"


def test_last_used_is_recorded(mos: MemOS, clock: FixedClock) -> None:
    issued = mos.create_user("ana")
    assert mos.list_keys(user_id="ana")[0].last_used_at is None
    mos.authenticate(issued.api_key)
    assert mos.list_keys(user_id="ana")[0].last_used_at == clock.now()


def test_a_keys_first_use_does_not_wait_for_a_memory_write(mos: MemOS, clock: FixedClock) -> None:
    issued = mos.create_user("ana")
    with write_held_open(mos.store.transaction):  # an add, an import, a forget's compaction
        principal = on_another_thread(lambda: mos.authenticate(issued.api_key))
    assert principal.user_id == "ana"
    assert mos.list_keys(user_id="ana")[0].last_used_at == clock.now()


def test_a_last_use_recorded_in_the_store_by_an_earlier_version_still_shows(
    mos: MemOS, data_dir: Path, clock: FixedClock
) -> None:
    issued = mos.create_user("ana")
    earlier = clock.now() - timedelta(days=3)
    with closing(sqlite3.connect(data_dir / DATABASE_FILE)) as conn, conn:
        conn.execute("UPDATE api_keys SET last_used_at = ?", (micros(earlier),))
    assert mos.list_keys(user_id="ana")[0].last_used_at == earlier
    mos.authenticate(issued.api_key)
    assert mos.list_keys(user_id="ana")[0].last_used_at == clock.now()


def test_bad_arguments_name_the_fix(mos: MemOS) -> None:
    with pytest.raises(InvalidInputError, match="admin must be"):
        mos.create_user("ana", admin="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="user_id"):
        mos.create_user("")
    with pytest.raises(InvalidInputError, match="key name"):
        mos.create_key(user_id="ana", name="bad\nname")
    with pytest.raises(InvalidInputError, match="id must be"):
        mos.revoke_key("", user_id="ana")


def test_forgotten_user_loses_keys_admin_right_and_shares(mos: MemOS) -> None:
    boss = mos.create_user("boss", admin=True)
    mos.add_texts(["shared fact"], user_id="ana", cube="notes")
    mos.share_cube("notes", user_id="ana", with_user="boss")
    mos.forget_user("boss")
    with pytest.raises(AuthenticationError):
        mos.authenticate(boss.api_key)
    assert mos.list_shares("notes", user_id="ana") == []
    assert mos.governance.is_admin("boss") is False
    (record,) = mos.governance.audit_log(AuditQuery(action="user.forget"))
    assert record.detail == {"rows": 3}
    report = mos.verify_forgotten(user_ids=["boss"])
    assert report.clean, report


def test_failures_are_counted_across_stores_on_one_data_directory(
    mos: MemOS, data_dir: Path, embedder: Any, clock: FixedClock
) -> None:
    good = mos.create_user("ana").api_key
    limit = mos.settings.governance.auth_max_failures
    with MemOS.open(data_dir, embedder=embedder, clock=clock) as other:  # a second process's view
        for attempt in range(limit):
            with pytest.raises(AuthenticationError):
                (mos, other)[attempt % 2].authenticate("msk_wrongwrongwrongwrong", client="c1")
        for either in (mos, other):
            with pytest.raises(RateLimitedError, match="too many failed"):
                either.authenticate(good, client="c1")
        clock.set(clock.now() + timedelta(seconds=mos.settings.governance.auth_window_s))
        assert other.authenticate(good, client="c1").user_id == "ana"


def test_old_failures_are_dropped_as_new_ones_arrive(
    mos: MemOS, data_dir: Path, clock: FixedClock
) -> None:
    for client in ("c1", "c2", "c3"):
        with pytest.raises(AuthenticationError):
            mos.authenticate("nope", client=client)
    clock.set(clock.now() + timedelta(seconds=mos.settings.governance.auth_window_s))
    with pytest.raises(AuthenticationError):
        mos.authenticate("nope", client="c4")
    with closing(sqlite3.connect(auth_database_path(data_dir / DATABASE_FILE))) as conn:
        assert conn.execute("SELECT client FROM auth_failures").fetchall() == [("c4",)]


def test_a_success_does_not_reset_the_count_so_a_valid_key_cannot_hide_guesses(
    mos: MemOS,
) -> None:
    good = mos.create_user("ana").api_key
    for attempt in range(mos.settings.governance.auth_max_failures):
        assert mos.authenticate(good, client="c1").user_id == "ana"  # between the guesses
        with pytest.raises(AuthenticationError):
            mos.authenticate(f"msk_guess{attempt}", client="c1")
    with pytest.raises(RateLimitedError, match="too many failed"):
        mos.authenticate(good, client="c1")

"""MemOS: the in-process facade and composition root.

It builds the store, the embedder and the retriever from one settings
object, resolves users and cubes, validates every argument, and delegates.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeAlias, overload

import numpy as np

from memosys.activation.generation import GenerateResult, GenerateStream, Request, generate
from memosys.activation.manager import ActivationMemory
from memosys.api.cubes import MAX_NAME_CHARS, Cubes, checked_name
from memosys.api.transfer import export_items, read_import_file
from memosys.core.clock import Clock, SystemClock, to_utc
from memosys.core.cube import MemCube
from memosys.core.errors import InvalidInputError, NotFoundError
from memosys.core.events import ChangeEvents
from memosys.core.filters import Eq, Filter, parse_filter
from memosys.core.history import CubeSnapshot, ItemVersion, RestoreReport
from memosys.core.items import LifecycleState, MemoryItem
from memosys.core.results import SearchHit, SessionHit
from memosys.governance.models import (
    Access,
    ApiKeyInfo,
    AuditQuery,
    AuditRecord,
    AuditVerification,
    IssuedKey,
    Principal,
    Share,
)
from memosys.governance.service import ADMIN_USER, Governance
from memosys.governance.store import governance_store
from memosys.lifecycle import versions as lifecycle_versions
from memosys.lifecycle.decay import decay_score
from memosys.lifecycle.fact_lookup import lead_with_current_facts
from memosys.lifecycle.forget import ForgetReceipt, forget_items, forget_user
from memosys.lifecycle.jobs import JobInfo, JobRunner
from memosys.lifecycle.merge import Deduper, Merge
from memosys.lifecycle.merge_repair import MergeRepair
from memosys.lifecycle.supersede import RuleJudge, Superseder
from memosys.lifecycle.timetravel import search_as_of
from memosys.lifecycle.upkeep import JobRun
from memosys.lifecycle.verify import VerifyReport, verify_forgotten
from memosys.lifecycle.versions import version_store
from memosys.models.embedders.base import Embedder
from memosys.parametric.lm import LanguageModel
from memosys.parametric.service import OffloadReport, ParametricMemory
from memosys.parametric.store import AdapterRecord
from memosys.parametric.train import StepProgress
from memosys.reader.documents import read_document
from memosys.reader.messages import read_messages
from memosys.reader.texts import text_items
from memosys.retrieval.search import FusionName, Mode, Retriever, SearchOptions, visible_filter
from memosys.settings import MemosysSettings
from memosys.stores.base import OrderBy, Scope, Store, Vectors

SETTINGS_FILE = "settings.json"
DATABASE_FILE = "memosys.db"
Progress = Callable[[int, int], None]
# aliases, because the method ``MemOS.list`` shadows the builtin inside the class
Items: TypeAlias = list[MemoryItem]
Hits: TypeAlias = list[SearchHit]
SessionHits: TypeAlias = list[SessionHit]
CubeList: TypeAlias = list[MemCube]
CubeRef: TypeAlias = str | list[str] | None
JobInfos: TypeAlias = list[JobInfo]
JobRuns: TypeAlias = list[JobRun]
Merges: TypeAlias = list[Merge]
KeyInfos: TypeAlias = list[ApiKeyInfo]
Shares: TypeAlias = list[Share]
AuditRecords: TypeAlias = list[AuditRecord]
AdapterRecords: TypeAlias = list[AdapterRecord]
Versions: TypeAlias = list[ItemVersion]
Snapshots: TypeAlias = list[CubeSnapshot]
MAX_AUDIT_LIMIT = 10_000


def default_home() -> Path:
    """``$MEMOSYS_HOME``, else ``~/.memosys`` (read at call time)."""
    return Path(os.environ.get("MEMOSYS_HOME") or Path.home() / ".memosys")


def _settings_for(directory: Path | None, given: MemosysSettings | None) -> MemosysSettings:
    from memosys.settings import load_settings

    saved = directory / SETTINGS_FILE if directory else None
    if given is not None:
        settings = given
    elif saved is not None and saved.exists():
        settings = load_settings(saved)
    else:
        settings = load_settings()
    if saved is not None:
        saved.write_text(settings.model_dump_json(indent=2), encoding="utf-8")
    return settings


class MemOS:
    """A memory system: add, search, get, update, delete and list memories.

    Open one with :meth:`open`; it is a context manager. Every method that
    touches memories takes the ``user_id`` it acts for.
    """

    def __init__(
        self,
        store: Store,
        settings: MemosysSettings,
        embedder: Embedder,
        clock: Clock,
        data_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self._store = store
        self._clock = clock
        self._embedder = embedder
        self._governance = Governance(governance_store(store), clock, settings.governance)
        self._cubes = Cubes(store, clock, self._governance)
        self._retriever = Retriever(store, embedder, settings.retrieval, clock)
        self.events = ChangeEvents()
        """Subscribe here to hear about every committed add, update and delete."""
        self.events.subscribe(self._governance.record_change)
        judge = RuleJudge(settings.lifecycle.supersede_min_similarity)
        self.superseder = Superseder(store, embedder, self.events, clock, judge)
        """Knowledge-update detection; set its ``judge`` to plug in another ConflictJudge."""
        if settings.lifecycle.supersede:
            self.events.subscribe(self.superseder)
        self.events.subscribe(MergeRepair(store, embedder, self.events, clock))

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        settings: MemosysSettings | None = None,
        clock: Clock | None = None,
        embedder: Embedder | None = None,
    ) -> MemOS:
        """Open (creating if needed) the memory system in a data directory.

        ``path`` is a directory, or ``":memory:"`` for a throw-away instance;
        ``None`` means ``$MEMOSYS_HOME``, else ``~/.memosys``. Settings are saved
        in the directory on first open and reused later unless given.
        """
        from memosys.models.embedders.cached import CachingEmbedder
        from memosys.models.embedders.factory import build_embedder
        from memosys.stores.sqlite import SQLiteStore

        clock = clock or SystemClock()
        directory: Path | None = None
        if str(path) != ":memory:":
            directory = Path(path) if path is not None else default_home()
            if directory.exists() and not directory.is_dir():
                raise InvalidInputError(f"{directory} is a file; pass a data directory")
            directory.mkdir(parents=True, exist_ok=True)
        settings = _settings_for(directory, settings)
        db = str(directory / DATABASE_FILE) if directory else ":memory:"
        store = SQLiteStore(db, settings.store, clock)
        inner = embedder or build_embedder(settings.embedder)
        return cls(store, settings, CachingEmbedder(inner, store), clock, directory)

    def close(self) -> None:
        """Close the store; the object is unusable afterwards."""
        activation = getattr(self, "_activation_memory", None)
        if activation is not None:  # waits for a background promotion pass
            activation.close()
        self._store.close()

    def __enter__(self) -> MemOS:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def store(self) -> Store:
        """The storage backend (for tools and tests; prefer the methods here)."""
        return self._store

    @property
    def embedder(self) -> Embedder:
        """The configured embedder, behind the embedding cache."""
        return self._embedder

    # -- cubes ---------------------------------------------------------------

    def create_cube(self, name: str, *, owner: str, description: str = "") -> MemCube:
        """Create a cube owned by ``owner``; ConflictError if the name is taken."""
        owner = self._cubes.ensure_user(owner)
        return self._cubes.create(name, owner, description)

    def cube(self, name_or_id: str, *, user_id: str) -> MemCube:
        """A cube of the user by name or id."""
        return self._cubes.find(self._cubes.ensure_user(user_id), name_or_id)

    def list_cubes(self, *, user_id: str) -> CubeList:
        """The user's own cubes, then the cubes shared with it."""
        return self._cubes.visible(self._cubes.ensure_user(user_id))

    # -- writes ----------------------------------------------------------------

    def add(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        user_id: str,
        cube: str | None = None,
        session_id: str | None = None,
        session_time: datetime | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Items:
        """Store conversation messages, one memory per message (or per window).

        A message is ``{"role", "content"}`` plus optional ``name`` (speaker),
        ``timestamp`` and ``metadata`` (kept verbatim on its memory).
        """
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.for_write(user, cube)
        start = 0 if session_id is None else self._next_position(user, target, session_id)
        items = read_messages(
            messages,
            user_id=user,
            cube_id=target.id,
            session_id=session_id,
            session_time=session_time,
            metadata=metadata,
            tags=tags,
            start_position=start,
            settings=self.settings.reader,
            clock=self._clock,
        )
        return self._write(items, None)

    def add_texts(
        self,
        texts: Sequence[str],
        *,
        user_id: str,
        cube: str | None = None,
        embeddings: Vectors | Sequence[Sequence[float]] | None = None,
        metadatas: Sequence[dict[str, Any]] | None = None,
        kind: str = "note",
        tags: list[str] | None = None,
        event_times: Sequence[datetime] | None = None,
    ) -> Items:
        """Bulk import of plain texts; pass ``embeddings`` to skip the embedder."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.for_write(user, cube)
        items = text_items(
            texts,
            user_id=user,
            cube_id=target.id,
            metadatas=metadatas,
            kind=kind,
            tags=tags,
            event_times=event_times,
            settings=self.settings.reader,
            clock=self._clock,
        )
        vectors = None if embeddings is None else self._checked_vectors(embeddings, len(items))
        return self._write(items, vectors)

    def add_document(
        self,
        source: str | Path,
        *,
        user_id: str,
        cube: str | None = None,
        text: str | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Items:
        """Chunk a document (a path, or ``text`` named by ``source``) into memories."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.for_write(user, cube)
        items = read_document(
            source,
            text=text,
            user_id=user,
            cube_id=target.id,
            title=title,
            metadata=metadata,
            tags=tags,
            settings=self.settings.reader,
            clock=self._clock,
        )
        return self._write(items, None)

    def update(
        self,
        id: str,
        *,
        user_id: str,
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        importance: float | None = None,
        kind: str | None = None,
    ) -> MemoryItem:
        """Change a memory's content or metadata; a new content is re-embedded."""
        user = self._cubes.ensure_user(user_id)
        scope = self._cubes.scope(user, None)
        current = self._get(scope, id)
        self._cubes.check_write(user, current.cube_id)
        changes: dict[str, Any] = {"updated_at": self._clock.now(), "version": current.version + 1}
        for name, value in (
            ("metadata", metadata),
            ("tags", tags),
            ("importance", importance),
            ("kind", kind),
        ):
            if value is not None:
                changes[name] = value
        vector = None
        if content is not None:
            (fresh,) = text_items(
                [content],
                user_id=user,
                cube_id=current.cube_id,
                metadatas=None,
                kind=str(kind or current.kind),
                tags=None,
                event_times=[current.event_time] if current.event_time else None,
                settings=self.settings.reader,
                clock=self._clock,
            )
            changes.update(
                content=fresh.content,
                content_hash=fresh.content_hash,
                keywords=fresh.keywords,
                entities=fresh.entities,
                time_refs=fresh.time_refs,
            )
        try:
            updated = MemoryItem.model_validate({**current.model_dump(), **changes})
        except ValueError as exc:
            raise InvalidInputError(f"invalid update: {exc}") from exc
        if content is not None:
            vector = self._embedder.embed([updated.search_text()])
        stored = self._store.update_item(scope, updated, vector)
        self.events.emit("updated", [stored.id], cube_id=stored.cube_id, user_id=user)
        return stored

    def delete(self, id: str, *, user_id: str) -> None:
        """Delete a memory: it becomes a tombstone, hidden everywhere, its history kept
        for time travel. :meth:`forget` removes it for good."""
        user = self._cubes.ensure_user(user_id)
        scope = self._cubes.scope(user, None)
        target = self._get(scope, id)
        self._cubes.check_write(user, target.cube_id)
        lifecycle_versions.delete(self._store, scope, target, self._clock.now())
        self.events.emit("deleted", [target.id], cube_id=target.cube_id, user_id=user)

    # -- reads -----------------------------------------------------------------

    def get(self, id: str, *, user_id: str) -> MemoryItem:
        """One memory by id; NotFoundError if missing or not the user's."""
        return self._get(self._cubes.scope(self._cubes.ensure_user(user_id), None), id)

    def list(
        self,
        *,
        user_id: str,
        cube: str | None = None,
        filters: dict[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
        order_by: OrderBy = "created_at",
        include_history: bool = False,
        include_archived: bool = False,
        as_of: datetime | None = None,
        snapshot: str | None = None,
    ) -> Items:
        """Memories of the user (optionally one cube), filtered, in a stable order.

        Current memories only, unless ``include_history`` (superseded and merged
        ones too) or ``include_archived``, or the filter names ``state``.
        ``as_of`` (a time) or ``snapshot`` (a snapshot's name) list the memories
        as they stood then.
        """
        if not isinstance(limit, int) or limit < 1 or not isinstance(offset, int) or offset < 0:
            raise InvalidInputError("limit must be >= 1 and offset >= 0 (integers)")
        if order_by not in ("created_at", "event_time", "position"):
            raise InvalidInputError("order_by must be created_at, event_time or position")
        scope = self._cubes.scope(self._cubes.ensure_user(user_id), cube)
        shown = visible_filter(
            parse_filter(filters),
            include_history=include_history,
            include_archived=include_archived,
        )
        if as_of is not None or snapshot is not None:
            scope, at = self._time_point(scope, as_of, snapshot)
            versions = version_store(self._store)
            return versions.list_as_of(scope, at, shown, limit, offset, order_by)
        return self._store.list_items(scope, shown, limit, offset, order_by)

    def count(
        self, *, user_id: str, cube: str | None = None, filters: dict[str, Any] | None = None
    ) -> int:
        """How many current memories match (as :meth:`list` would return them)."""
        scope = self._cubes.scope(self._cubes.ensure_user(user_id), cube)
        return self._store.count_items(scope, visible_filter(parse_filter(filters)))

    def search(
        self,
        query: str,
        *,
        user_id: str,
        cube: CubeRef = None,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        mode: Mode = "hybrid",
        fusion: FusionName | None = None,
        recency_weight: float = 0.0,
        importance_weight: float = 0.0,
        mmr: float | None = None,
        neighbours: int = 0,
        include_history: bool = False,
        include_archived: bool = False,
        as_of: datetime | None = None,
        snapshot: str | None = None,
    ) -> Hits:
        """Hybrid search (BM25 + dense, fused); every hit carries an ``explain``.

        ``mmr`` (0..1) trades relevance for diversity; ``neighbours`` adds the
        messages around each hit as context; the weights add recency and
        importance to the fused score. Current facts only, unless
        ``include_history`` (superseded and merged memories too) or
        ``include_archived``. ``as_of`` (a time) or ``snapshot`` (a snapshot's
        name) search the memories as they stood then (an exact scan; see
        :mod:`memosys.lifecycle.timetravel`).
        """
        scope = self._cubes.scope(self._cubes.ensure_user(user_id), cube)
        if mode != "bm25":
            self._cubes.check_embedder(scope, self._embedder.fingerprint)
        options = SearchOptions(
            top_k=top_k,
            mode=mode,
            fusion=fusion,
            recency_weight=recency_weight,
            importance_weight=importance_weight,
            mmr=mmr,
            neighbours=neighbours,
        )
        shown = visible_filter(
            parse_filter(filters),
            include_history=include_history,
            include_archived=include_archived,
        )
        if as_of is not None or snapshot is not None:
            return self._search_as_of(scope, query, shown, options, as_of, snapshot)
        hits = self._retriever.search(scope, query, shown, options)
        if self.settings.lifecycle.fact_lookup:
            limit = None if neighbours else top_k
            hits = lead_with_current_facts(self._store, scope, query, shown, hits, limit)
        self._store.record_access([h.item.id for h in hits], self._clock.now())
        return hits

    def search_sessions(
        self,
        query: str,
        *,
        user_id: str,
        cube: CubeRef = None,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        mode: Mode = "hybrid",
    ) -> SessionHits:
        """Sessions ranked by the message hits they contain."""
        scope = self._cubes.scope(self._cubes.ensure_user(user_id), cube)
        if mode != "bm25":
            self._cubes.check_embedder(scope, self._embedder.fingerprint)
        return self._retriever.search_sessions(scope, query, parse_filter(filters), top_k, mode)

    # -- bulk ------------------------------------------------------------------

    def export_items(self, path: str | Path, *, user_id: str, cube: str | None = None) -> int:
        """Write the memories as JSON Lines; returns how many."""
        scope = self._cubes.scope(self._cubes.ensure_user(user_id), cube)
        return export_items(self._store, scope, Path(path))

    def import_items(
        self,
        path: str | Path,
        *,
        user_id: str,
        cube: str | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Import JSON Lines written by :meth:`export_items` (or ``{"content": ...}`` lines)."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.for_write(user, cube)
        batches = read_import_file(
            Path(path),
            user_id=user,
            cube_id=target.id,
            settings=self.settings.reader,
            clock=self._clock,
        )
        done = 0
        for items, total in batches:
            done += len(self._write(items, None))
            if progress:
                progress(done, total)
        return done

    def reembed(
        self,
        *,
        user_id: str | None = None,
        cube: str | None = None,
        progress: Progress | None = None,
        batch_size: int = 512,
    ) -> int:
        """Recompute every vector with the configured embedder; returns how many."""
        if user_id is None:
            cubes = self._store.list_cubes()
        elif cube is None:  # own cubes only: shared ones are their owners' to re-embed
            cubes = self._store.list_cubes(owner=self._cubes.ensure_user(user_id))
        else:
            cubes = [self._cubes.writable(self._cubes.ensure_user(user_id), cube)]
        total = sum(self._store.count_items(Scope(c.owner, (c.id,))) for c in cubes)
        done = 0
        for target in cubes:
            scope = Scope(target.owner, (target.id,))
            offset = 0
            while batch := self._store.list_items(scope, None, batch_size, offset, "created_at"):
                vectors = self._embedder.embed([item.search_text() for item in batch])
                self._store.replace_vectors(
                    target.id, [item.id for item in batch], vectors, self._embedder.fingerprint
                )
                offset += len(batch)
                done += len(batch)
                if progress:
                    progress(done, total)
        return done

    def stats(self) -> dict[str, int]:
        """Counts of users, cubes, items and vectors, and the database size."""
        return self._store.stats()

    # -- governance ----------------------------------------------------------

    def create_user(self, user_id: str, *, admin: bool = False) -> IssuedKey:
        """Create a user (an administrator if ``admin``) and its first API key.

        ConflictError if the user already has keys; the plaintext key is in the
        result only and is never stored.
        """
        if not isinstance(admin, bool):
            raise InvalidInputError(f"admin must be true or false, got {admin!r}")
        return self._governance.create_user(self._cubes.ensure_user(user_id), admin=admin)

    def create_key(self, *, user_id: str, name: str = "") -> IssuedKey:
        """A new API key for the user; its plaintext is shown this once."""
        return self._governance.create_key(
            self._cubes.ensure_user(user_id), name=_checked_text(name, "key name")
        )

    def revoke_key(self, key_id: str, *, user_id: str) -> None:
        """Revoke one of the user's keys (an administrator may revoke any)."""
        self._governance.revoke_key(
            self._checked_id(key_id), user_id=self._cubes.ensure_user(user_id)
        )

    def list_keys(self, *, user_id: str) -> KeyInfos:
        """The user's API keys (prefix, name, times), never their secrets."""
        return self._governance.list_keys(self._cubes.ensure_user(user_id))

    def authenticate(self, api_key: str, *, client: str = "local") -> Principal:
        """The principal of an API key.

        AuthenticationError for a missing, unknown or revoked key;
        RateLimitedError after repeated failures from the same ``client``.
        """
        return self._governance.authenticate(
            api_key, client=_checked_text(client, "client", empty=False)
        )

    def ensure_admin_key(self) -> IssuedKey | None:
        """Create user ``admin`` with an admin key when no administrator has one, else None."""
        self._cubes.ensure_user(ADMIN_USER)
        return self._governance.ensure_admin_key()

    def share_cube(
        self, cube: str, *, user_id: str, with_user: str, access: Access = "read"
    ) -> Share:
        """Share a cube of ``user_id`` with ``with_user``, read-only or read-write.

        Only the owner (or an administrator) may share; anyone else gets
        NotFoundError. Sharing again changes the access.
        """
        if access not in ("read", "write"):
            raise InvalidInputError(f"access must be 'read' or 'write', got {access!r}")
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.owned(user, cube)
        other = self._cubes.existing_user(with_user)
        if other == target.owner:
            raise InvalidInputError(
                f"{other!r} owns cube {target.name!r}; share it with another user"
            )
        return self._governance.share(target, by=user, with_user=other, access=access)

    def unshare_cube(self, cube: str, *, user_id: str, with_user: str) -> None:
        """Withdraw a share; NotFoundError if the cube is not shared with ``with_user``."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.owned(user, cube)
        other = checked_name(with_user, "with_user")
        self._governance.unshare(target, by=user, with_user=other)

    def list_shares(self, cube: str, *, user_id: str) -> Shares:
        """Who a cube of ``user_id`` is shared with (owner or administrator only)."""
        target = self._cubes.owned(self._cubes.ensure_user(user_id), cube)
        return self._governance.shares_of_cube(target.id)

    def audit_log(
        self,
        *,
        user_id: str,
        cube: str | None = None,
        item_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> AuditRecords:
        """Audit records, newest first.

        Administrators see every record; other users see the records of the
        cubes they own and those of their own actions.
        """
        if not isinstance(limit, int) or not 1 <= limit <= MAX_AUDIT_LIMIT:
            raise InvalidInputError(f"limit must be an integer from 1 to {MAX_AUDIT_LIMIT}")
        if since is not None and not isinstance(since, datetime):
            raise InvalidInputError(f"since must be a datetime, got {since!r}")
        user = self._cubes.ensure_user(user_id)
        admin = self._governance.is_admin(user)
        query = AuditQuery(
            visible_to=None if admin else user,
            cube_id=None if cube is None else self._audited_cube(user, admin, cube),
            item_id=None if item_id is None else self._checked_id(item_id),
            action=None if action is None else _checked_text(action, "action", empty=False),
            since=since,
            limit=limit,
        )
        return self._governance.audit_log(query)

    def _audited_cube(self, user: str, admin: bool, cube: str) -> str:
        """The id of a cube whose records are asked for: any cube for an administrator."""
        return (self._cubes.owned(user, cube) if admin else self._cubes.find(user, cube)).id

    def verify_audit(self) -> AuditVerification:
        """Check the audit chain end to end; names the first record that breaks it."""
        return self._governance.verify_audit()

    @property
    def governance(self) -> Governance:
        """The governance service (for tools such as the CLI; prefer the methods here)."""
        return self._governance

    # -- parametric memory ---------------------------------------------------

    @property
    def parametric(self) -> ParametricMemory:
        """The adapters of this instance (created on first use; it then hears every change)."""
        service: ParametricMemory | None = getattr(self, "_parametric_memory", None)
        if service is None:
            service = self._parametric_memory = ParametricMemory(self, self._clock)
        return service

    def distill(
        self,
        *,
        user_id: str,
        name: str,
        memory_ids: Sequence[str] | None = None,
        filters: dict[str, Any] | None = None,
        cube: str | None = None,
        base_model: str | LanguageModel = "smollm2",
        rank: int = 16,
        steps: int = 80,
        seed: int = 0,
        llm_questions: bool = False,
        progress: StepProgress | None = None,
    ) -> AdapterRecord:
        """Distil the chosen memories (``memory_ids`` or ``filters``) into LoRA adapter ``name``.

        Trains on ``base_model`` (a spec such as ``"smollm2"`` or a local model
        folder); the adapter is stored in the memories' cube with its provenance.
        Training data is made by rules; ``llm_questions`` lets the model add
        questions. ``progress(step, steps, loss)`` is called after each step.
        """
        from memosys.parametric.train import TrainConfig

        config = TrainConfig(rank=rank, steps=steps, seed=seed)
        return self.parametric.distill(
            user_id=self._cubes.ensure_user(user_id), name=name, memory_ids=memory_ids,
            filters=filters, cube=cube, base_model=base_model, config=config,
            llm_questions=llm_questions, progress=progress,
        )

    def list_adapters(self, *, user_id: str, cube: str | None = None) -> AdapterRecords:
        """The user's adapters with their provenance; stale ones are marked."""
        return self.parametric.list_adapters(user_id=self._cubes.ensure_user(user_id), cube=cube)

    def adapter(self, name: str, *, user_id: str, cube: str | None = None) -> AdapterRecord:
        """One adapter's provenance by name; NotFoundError if the user has none."""
        return self.parametric.adapter(name, user_id=self._cubes.ensure_user(user_id), cube=cube)

    def drop_adapter(self, name: str, *, user_id: str, cube: str | None = None) -> AdapterRecord:
        """Delete an adapter (its memories stay as text); returns its last record."""
        return self.parametric.drop(name, user_id=self._cubes.ensure_user(user_id), cube=cube)

    def rebuild_adapter(
        self,
        name: str,
        *,
        user_id: str,
        cube: str | None = None,
        base_model: str | None = None,
        progress: StepProgress | None = None,
    ) -> AdapterRecord:
        """Retrain an adapter on its memories as they are now, leaving out removed ones."""
        return self.parametric.rebuild(
            name, user_id=self._cubes.ensure_user(user_id), cube=cube, base_model=base_model,
            progress=progress,
        )

    def offload(self, adapter: str, *, user_id: str, cube: str | None = None) -> OffloadReport:
        """Drop an adapter after checking that every memory it held is still served as text."""
        return self.parametric.offload(adapter, user_id=self._cubes.ensure_user(user_id), cube=cube)

    # -- lifecycle: versions and forgetting ----------------------------------

    def history(self, id: str, *, user_id: str) -> Versions:
        """Every version of a memory, numbered from 1, with who changed what and when
        (deleted memories too: their history stays readable until forgotten)."""
        user = self._cubes.ensure_user(user_id)
        scope = self._cubes.scope(user, None)
        return version_store(self._store).history(scope, self._checked_id(id))

    def rollback(self, id: str, version: int, *, user_id: str) -> MemoryItem:
        """Make an earlier version current again, as a new version (the state stays)."""
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise InvalidInputError(f"version must be an integer >= 1, got {version!r}")
        user = self._cubes.ensure_user(user_id)
        scope = self._cubes.scope(user, None)
        target = self._get(scope, id)
        self._cubes.check_write(user, target.cube_id)
        restored = version_store(self._store).rollback(scope, target.id, version)
        self.events.emit("updated", [restored.id], cube_id=restored.cube_id, user_id=user)
        return restored

    def freeze(self, id: str, *, user_id: str) -> MemoryItem:
        """Freeze a memory: it cannot be changed or deleted until its owner unfreezes it."""
        return self._change_state(id, user_id, LifecycleState.FROZEN)

    def unfreeze(self, id: str, *, user_id: str) -> MemoryItem:
        """Give a frozen memory back the state it had (its owner only)."""
        return self._change_state(id, user_id, None)

    def archive(self, id: str, *, user_id: str) -> MemoryItem:
        """Archive a memory: left out of search and list unless ``include_archived``."""
        return self._change_state(id, user_id, LifecycleState.ARCHIVED)

    def unarchive(self, id: str, *, user_id: str) -> MemoryItem:
        """Bring an archived memory back (state activated)."""
        return self._change_state(id, user_id, LifecycleState.ACTIVATED)

    def snapshot(self, cube: str, name: str, *, user_id: str) -> CubeSnapshot:
        """Name the cube's present state; read it later with ``snapshot=name``."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.find(user, cube)
        self._cubes.check_write(user, target)
        name = _checked_text(name, "snapshot name", empty=False)
        return version_store(self._store).create_snapshot(target.id, name, user)

    def list_snapshots(self, *, user_id: str, cube: str | None = None) -> Snapshots:
        """Snapshots of the user's cubes (or of one cube), oldest first."""
        scope = self._cubes.scope(self._cubes.ensure_user(user_id), cube)
        return version_store(self._store).snapshots(scope.cube_ids)

    def delete_snapshot(self, cube: str, name: str, *, user_id: str) -> None:
        """Drop a snapshot's name (the versions it pointed at stay in the history)."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.find(user, cube)
        self._cubes.check_write(user, target)
        if not version_store(self._store).delete_snapshot(target.id, name):
            raise NotFoundError(
                f"no snapshot called {name!r} in cube {cube!r}; see `memosys snapshot list`",
                detail={"snapshot": name},
            )

    def restore_snapshot(self, cube: str, name: str, *, user_id: str) -> RestoreReport:
        """Make the cube's memories what they were at the snapshot, each as a new version."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.find(user, cube)
        self._cubes.check_write(user, target)
        found = self._snapshot(Scope(user, (target.id,)), name)
        report = version_store(self._store).restore_snapshot(found, user)
        # one cube-wide event (no ids): listeners treat it as "anything in the cube may have
        # changed", and derived data re-validates its source versions when used
        self.events.emit("updated", [], cube_id=target.id, user_id=user)
        return report

    def forget(self, id: str, *, user_id: str) -> ForgetReceipt:
        """Remove a memory everywhere: all versions, the text index, its vector, cached
        embeddings of its texts and snapshots; then compact the database file.

        Emits ``"forgotten"`` so KV caches and adapters built from it are dropped
        or marked stale. Deleted memories can be forgotten; frozen ones cannot.
        """
        user = self._cubes.ensure_user(user_id)
        (first, *_) = self.history(id, user_id=user)
        cube_id = first.item.cube_id
        self._cubes.check_write(user, cube_id)
        receipt = forget_items(version_store(self._store), cube_id, user, [first.item.id])
        self.events.emit("forgotten", receipt.item_ids, cube_id=cube_id, user_id=user)
        return receipt

    def forget_user(self, user_id: str) -> ForgetReceipt:
        """Remove everything of a user: their memories in every cube, their cubes with
        all versions and snapshots, and the user; emits ``"forgotten"`` per cube."""
        user = _checked_text(user_id, "user_id", empty=False)
        self._governance.forget_user(user)  # keys and shares first: the compaction follows
        receipt = forget_user(version_store(self._store), user)
        for cube_id, ids in receipt.by_cube.items():
            self.events.emit("forgotten", ids, cube_id=cube_id, user_id=user)
        return receipt

    def verify_forgotten(
        self,
        *,
        ids: Sequence[str] = (),
        user_ids: Sequence[str] = (),
        texts: Sequence[str] = (),
        receipt: ForgetReceipt | None = None,
    ) -> VerifyReport:
        """Scan every table, the text index and every file of the data directory for
        these ids and texts, and for everything a forget's ``receipt`` names (its ids,
        texts and embeddings); see :mod:`memosys.lifecycle.verify`."""
        if self.data_dir is None:
            raise InvalidInputError("verify_forgotten needs a data directory, not ':memory:'")
        extra = receipt or ForgetReceipt()
        return verify_forgotten(
            self.data_dir,
            self.data_dir / DATABASE_FILE,
            ids=[*ids, *extra.item_ids],
            user_ids=[*user_ids, *([extra.user_id] if extra.user_id else [])],
            texts=[*texts, *extra.texts],
            vectors=extra.vectors,
        )

    def _change_state(self, id: str, user_id: str, state: LifecycleState | None) -> MemoryItem:
        user = self._cubes.ensure_user(user_id)
        scope = self._cubes.scope(user, None)
        target = self._get(scope, id)
        self._cubes.check_write(user, target.cube_id)
        now = self._clock.now()
        if state is None:
            changed = lifecycle_versions.unfreeze(self._store, scope, target, now)
        else:
            changed = lifecycle_versions.change_state(self._store, scope, target, state, now)
        self.events.emit("state", [changed.id], cube_id=changed.cube_id, user_id=user)
        return changed

    def _time_point(
        self, scope: Scope, as_of: datetime | None, snapshot: str | None
    ) -> tuple[Scope, datetime]:
        """The scope and time to read for ``as_of`` or ``snapshot`` (one of them)."""
        if as_of is not None and snapshot is not None:
            raise InvalidInputError("give as_of or snapshot, not both")
        if snapshot is not None:
            found = self._snapshot(scope, snapshot)
            return Scope(scope.user_id, (found.cube_id,)), found.taken_at
        if not isinstance(as_of, datetime):
            raise InvalidInputError(f"as_of must be a datetime, got {as_of!r}")
        return scope, to_utc(as_of)

    def _snapshot(self, scope: Scope, name: str) -> CubeSnapshot:
        found = version_store(self._store).snapshots(scope.cube_ids, name)
        if len(found) != 1:
            where = "these cubes" if len(scope.cube_ids) > 1 else "this cube"
            problem = "no snapshot" if not found else "several snapshots"
            raise (NotFoundError if not found else InvalidInputError)(
                f"{problem} called {name!r} in {where}; pass the cube, or see "
                "`memosys snapshot list`",
                detail={"snapshot": name},
            )
        return found[0]

    def _search_as_of(
        self,
        scope: Scope,
        query: str,
        filters: Filter | None,
        options: SearchOptions,
        as_of: datetime | None,
        snapshot: str | None,
    ) -> Hits:
        options.validate()
        if options.mmr is not None or options.neighbours or options.recency_weight or (
            options.importance_weight
        ):
            raise InvalidInputError(
                "as_of and snapshot searches rank by relevance only; drop mmr, neighbours, "
                "recency_weight and importance_weight"
            )
        scope, at = self._time_point(scope, as_of, snapshot)
        return search_as_of(
            version_store(self._store),
            self._embedder,
            self.settings.retrieval,
            scope,
            query,
            filters,
            at=at,
            top_k=options.top_k,
            mode=options.mode,
            fusion=options.fusion,
        )

    # -- lifecycle: knowledge and upkeep ----------------------------------------

    def jobs(self) -> JobInfos:
        """The background jobs (ttl-purge, decay, caps, dedup, ...) with their latest run."""
        return self._job_runner().infos()

    def run_job(self, name: str, *, params: dict[str, Any] | None = None) -> JobRun:
        """Run background job ``name`` now and return its recorded run.

        A run left unfinished by a process that died is resumed from its last
        committed step. ConflictError while another process runs the job.
        """
        return self._job_runner().run(_checked_text(name, "name", empty=False), params)

    def job_runs(self, name: str | None = None, *, limit: int = 20) -> JobRuns:
        """The latest job runs (of one job, or all), newest first."""
        return self._job_runner().runs(name, limit)

    def dedup(
        self,
        *,
        user_id: str,
        cube: str | None = None,
        threshold: float | None = None,
        dry_run: bool = False,
    ) -> Merges:
        """Merge near-duplicate memories in one of the user's cubes (default: its own cubes).

        Each merge keeps both sources in ``merged_from``; the sources become
        ``merged``. ``dry_run`` reports the merges without writing them.
        """
        settings = self.settings.lifecycle
        if threshold is not None and (
            not isinstance(threshold, (int, float)) or not 0 < threshold <= 1
        ):
            raise InvalidInputError(f"threshold must be in (0, 1], got {threshold!r}")
        user = self._cubes.ensure_user(user_id)
        if cube is None:
            cubes = self._store.list_cubes(owner=user)
        else:
            cubes = [self._cubes.writable(user, cube)]
        deduper = Deduper(
            self._store, self._embedder, threshold or settings.dedup_threshold,
            settings.dedup_kinds,
        )
        merges: Merges = []
        for target in cubes:
            found = deduper.dedup(
                Scope(user, (target.id,)), settings.job_batch, self._clock.now(), dry_run=dry_run
            )
            if found and not dry_run:
                self.events.emit("added", [m.merged.id for m in found], cube_id=target.id,
                                 user_id=user)
                sources = [s.id for m in found for s in m.sources]
                self.events.emit("state", sources, cube_id=target.id, user_id=user)
            merges.extend(found)
        return merges

    def set_expiry(
        self, id: str, *, user_id: str, expires_at: datetime | None
    ) -> MemoryItem:
        """Make a memory expire at ``expires_at`` (None: never), as a new version.

        Expired memories disappear from every read at once; the ``ttl-purge``
        job deletes them for good.
        """
        if expires_at is not None and not isinstance(expires_at, datetime):
            raise InvalidInputError(
                f"expires_at must be a datetime or None, got {type(expires_at).__name__}"
            )
        user = self._cubes.ensure_user(user_id)
        scope = self._cubes.scope(user, None)
        current = self._get(scope, id)
        self._cubes.check_write(user, current.cube_id)
        when = None if expires_at is None else to_utc(expires_at)
        changed = current.model_copy(update={"expires_at": when, "updated_at": self._clock.now()})
        stored = self._store.update_item(scope, changed, None)
        self.events.emit("updated", [stored.id], cube_id=stored.cube_id, user_id=user)
        return stored

    def decay_score(self, id: str, *, user_id: str) -> float:
        """How well a memory is remembered now, in (0, 1] (see :mod:`memosys.lifecycle.decay`)."""
        item = self.get(id, user_id=user_id)
        return decay_score(item, self._clock.now(), self.settings.lifecycle)

    def _job_runner(self) -> JobRunner:
        return JobRunner(
            self._store, self._embedder, self.settings.lifecycle, self._clock, self.events
        )

    # -- generation and activation memory ----------------------------------------

    @property
    def activation(self) -> ActivationMemory:
        """The KV caches of this instance (created on first use; it then hears every change)."""
        service: ActivationMemory | None = getattr(self, "_activation_memory", None)
        if service is None:
            service = self._activation_memory = ActivationMemory(self, self._clock)
        return service

    @overload
    def generate(
        self,
        query: str,
        *,
        user_id: str,
        memories: Sequence[str] | None = None,
        max_new_tokens: int = 128,
        stream: Literal[False] = False,
        model: str | None = None,
        adapters: Sequence[str] = (),
        use_activation: bool = True,
        allow_stale_adapters: bool = False,
    ) -> GenerateResult: ...

    @overload
    def generate(
        self,
        query: str,
        *,
        user_id: str,
        memories: Sequence[str] | None = None,
        max_new_tokens: int = 128,
        stream: Literal[True],
        model: str | None = None,
        adapters: Sequence[str] = (),
        use_activation: bool = True,
        allow_stale_adapters: bool = False,
    ) -> GenerateStream: ...

    def generate(
        self,
        query: str,
        *,
        user_id: str,
        memories: Sequence[str] | None = None,
        max_new_tokens: int = 128,
        stream: bool = False,
        model: str | None = None,
        adapters: Sequence[str] = (),
        use_activation: bool = True,
        allow_stale_adapters: bool = False,
    ) -> GenerateResult | GenerateStream:
        """Answer ``query`` with a local model, the memories in the prompt.

        ``memories`` are memory ids (in prompt order); ``None`` retrieves the top
        ``activation.search_top_k`` hits. A fresh KV cache holding them is used
        as the prompt's prefix (``use_activation``); ``adapters`` are LoRA
        adapters applied for this call (they turn caches off: caches hold
        base-model states). ``model`` defaults to ``activation.model``. The result
        carries text, token ids, time to first token, tokens/s and the memory
        ids, caches and adapters used; ``stream=True`` yields text pieces first.
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("query must be a non-empty string")
        if not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= 4096:
            raise InvalidInputError("max_new_tokens must be an integer from 1 to 4096")
        if isinstance(adapters, str) or not all(isinstance(a, str) for a in adapters):
            raise InvalidInputError("adapters must be a list of adapter names")
        spec = model or self.settings.activation.model
        from memosys.models.llm.registry import get_lm

        request = Request(
            query=query,
            user_id=self._cubes.ensure_user(user_id),
            memories=memories,
            max_new_tokens=max_new_tokens,
            model=spec,
            adapters=list(adapters),
            use_activation=use_activation,
            allow_stale_adapters=allow_stale_adapters,
        )
        return generate(self, self.activation, get_lm(spec), request, stream=stream)

    # -- helpers ---------------------------------------------------------------

    def _write(self, items: Items, vectors: Vectors | None) -> Items:
        if vectors is None:
            vectors = self._embedder.embed([item.search_text() for item in items])
        result = self._store.add_items(items, vectors, self._embedder.fingerprint)
        pairs = zip(result.items, result.duplicates, strict=True)
        fresh = [item for item, repeat in pairs if not repeat]
        if fresh:
            first = fresh[0]
            ids = [item.id for item in fresh]
            self.events.emit("added", ids, cube_id=first.cube_id, user_id=first.user_id)
        return result.items

    def _next_position(self, user: str, cube: MemCube, session_id: str) -> int:
        """Where the next message of a session goes: after the messages stored."""
        scope, session = Scope(user, (cube.id,)), Eq("session_id", session_id)
        count = self._store.count_items(scope, session)
        if count == 0:
            return 0
        (last,) = self._store.list_items(scope, session, 1, count - 1, "position")
        return (last.position or 0) + last.message_count

    def _get(self, scope: Scope, id: str) -> MemoryItem:
        found = self._store.get_items(scope, [self._checked_id(id)])
        if not found:
            raise NotFoundError(f"memory {id!r} not found", detail={"id": id})
        return found[0]

    @staticmethod
    def _checked_id(value: object) -> str:
        if not isinstance(value, str) or not value:
            raise InvalidInputError(f"id must be a non-empty string, got {value!r}")
        return value

    def _checked_vectors(self, embeddings: object, count: int) -> Vectors:
        try:
            array = np.asarray(embeddings, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"embeddings must be numbers: {exc}") from exc
        dims = self._embedder.dimensions
        if array.ndim != 2 or array.shape != (count, dims):
            raise InvalidInputError(
                f"embeddings must have shape ({count}, {dims}) to match the texts and the "
                f"configured embedder, got {array.shape}"
            )
        if not np.isfinite(array).all():
            raise InvalidInputError("embeddings contain NaN or infinite values")
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        if (norms == 0).any():
            raise InvalidInputError("embeddings contain an all-zero vector")
        unit: Vectors = array / norms
        return unit


def _checked_text(value: object, what: str, *, empty: bool = True) -> str:
    """A short printable string argument (``empty`` allows "")."""
    if (
        not isinstance(value, str)
        or len(value) > MAX_NAME_CHARS
        or not value.isprintable()
        or not (empty or value.strip())
    ):
        raise InvalidInputError(
            f"{what} must be {'' if empty else 'a non-empty '}printable text of at most "
            f"{MAX_NAME_CHARS} characters, got {value!r}"
        )
    return value

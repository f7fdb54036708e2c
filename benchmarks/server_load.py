"""Load on the REST server: 16 concurrent clients mixing adds and searches on a 100k cube.

    .venv/bin/python benchmarks/server_load.py --clients 16 --phase-s 30 --warmup-s 10
    .venv/bin/python benchmarks/server_load.py --clients 1 --phase-s 20 --warmup-s 10

``memosys serve`` runs as a subprocess on loopback; this process is the client
side (one thread and one HTTP connection per client). Once ``/readyz`` says the
server's processes have warmed up, and after ``--warmup-s`` of searches, five
bounded closed-loop phases
(each client sends its next request when the last is answered, so they
measure saturation): ``mixed`` (each request is a search or an add of a
batch of messages), ``search`` (searches only), ``adds`` (adds only, raw
mode: no LLM, one memory per message, embedded by the server) and
``adds_with_given_vectors`` (texts sent with their embeddings, so the server
does no model work), and ``mixed_with_given_vectors`` (``mixed`` with such
adds: searches beside a write rate that the embedder does not bound; with
``--query-vectors`` its searches send their query's vector too). Then
three open-loop capacity sweeps (Poisson arrivals, latency counted from each
request's planned time, so a late start counts): ``search_capacity``,
``mixed_capacity`` and ``mixed_with_given_vectors_capacity`` (the workloads of
``search``, ``mixed`` and ``mixed_with_given_vectors``) offer a rising request rate, a step
at a time (after an unmeasured half step), until the searches' p95 passes
``--slo-ms``, and report the highest rate whose p95 stayed within it: how much
load the server takes at that latency.
Each phase's clients set up (their texts, their HTTP connection) before it
starts, and its first ``RAMP_S`` are not measured: clients that start together
send their first requests together, a burst that no steady load has.
Reported per phase: requests/s, messages/s, p50/p95/p99 latency per request
type as the clients saw it and as the server spent it (``*_ms_in_server``, by
part of its ``Server-Timing`` header: ``app`` is the whole request in the
server, the rest is the clients' own queueing, HTTP and loopback; a search's
``turn`` and ``search`` are its wait for a turn and its work), errors and 5xx,
and the CPU time the server and the clients spent per request, with the request
rate at which that CPU would fill every core (on Linux, from ``/proc``; the
server's also by depth in its process tree, :data:`CPU_DEPTHS`); for a
closed-loop phase also ``by_window``, its messages/s and search p95 in each
``WINDOW_S``, which show whether a rate held through the phase. At the
end the server is stopped, every acknowledged write is looked up in the store,
and the same kind of searches run in process, one at a time, as a reference for
what HTTP adds (compare with a ``--clients 1`` run).

The store is a fresh copy (per run) of the 100k-memory store that
``search_latency.py`` builds (``add_texts(..., embeddings=...)``), with its
saved HNSW index; the phases' adds grow it as the run goes.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import itertools
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import onnxruntime  # noqa: F401  (before usearch: see search_latency.py)
from _common import CACHE, real_vectors, store_dir, synthetic_texts, write_result
from search_latency import CUBE, USER, build, queries, vector_index

from memosys import MemOS
from memosys.api.packed_vectors import pack, pack_one
from memosys.eval.metrics import percentile
from memosys.stores.base import Scope

START_TIMEOUT_S = 120.0
SETTLE_MAX_S = 60.0
SETUP_S = 2.0  # before a phase starts, for its clients to set up (not measured)
# then its clients run this long unmeasured: closed-loop clients that start together
# send their first requests together, a burst that no steady load has
RAMP_S = 3.0
# what server_s_by_process_depth adds up, by depth in the server's process tree
CPU_DEPTHS = ("the serve process (with --workers, the parent that keeps the shared HNSW "
              "index)", "its children: the workers, or the write processes",
              "the workers' children: their write processes")
WINDOW_S = 10.0  # a closed-loop phase's rates are also reported per window this long
GIVEN_POOL = 20_000  # texts whose vectors the adds with given vectors send
GIVEN_NOISE = 0.25  # length of the random move of each given vector (cosine about 0.97)
GIVEN_QUERIES = 2_000  # questions whose vectors searches send with --query-vectors
PHASES = ["mixed", "search", "adds", "adds_with_given_vectors", "mixed_with_given_vectors",
          "search_capacity", "mixed_capacity", "mixed_with_given_vectors_capacity"]


@dataclass
class Tally:
    """What the clients of one phase saw."""

    latency_ms: dict[str, list[float]] = field(default_factory=lambda: {"search": [], "add": []})
    # by request type and Server-Timing part (app, and a search's turn and search)
    server_ms: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {"search": {}, "add": {}})
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    late_starts: int = 0  # clients not set up when the phase started
    messages_acked: int = 0
    acked_ids: list[str] = field(default_factory=list)
    # each measured answer: (time.time() at its arrival, messages acked, search ms or None)
    answers: list[tuple[float, int, float | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, ms: float, server_ms: dict[str, float], status: int,
               ids: list[str], measured: bool) -> None:
        """A request's outcome; one sent before the phase was measured counts only
        for the acknowledged writes."""
        with self.lock:
            self.acked_ids.extend(ids)
            if not measured:
                return
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                self.latency_ms[kind].append(ms)
                for part, part_ms in server_ms.items():
                    self.server_ms[kind].setdefault(part, []).append(part_ms)
                self.messages_acked += len(ids)
                self.answers.append((time.time(), len(ids), ms if kind == "search" else None))

    def merge(self, other: Tally) -> None:
        """Add what another process's clients saw."""
        for kind, samples in other.latency_ms.items():
            self.latency_ms[kind] += samples
            for part, part_samples in other.server_ms[kind].items():
                self.server_ms[kind].setdefault(part, []).extend(part_samples)
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.transport_errors += other.transport_errors
        self.late_starts += other.late_starts
        self.messages_acked += other.messages_acked
        self.acked_ids += other.acked_ids
        self.answers += other.answers

    def __getstate__(self) -> dict[str, Any]:  # crosses processes without its lock
        return {k: v for k, v in self.__dict__.items() if k != "lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, lock=threading.Lock())


def _ends_with_this_process() -> None:
    """In the server's process (Linux): SIGTERM when the benchmark dies, even by SIGKILL,
    so that no server is left serving, and writing, a copy the next run replaces."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(url: str, server: subprocess.Popen[bytes], path: str, times: int) -> None:
    """Wait until ``path`` answers 200 on ``times`` new connections in a row (each may
    reach any worker): ``/readyz`` on 3 x workers, and every worker has warmed up."""
    deadline, in_a_row = time.monotonic() + START_TIMEOUT_S, 0
    while in_a_row < times:
        try:
            in_a_row = in_a_row + 1 if httpx.get(f"{url}{path}").status_code == 200 else 0
        except httpx.TransportError:
            in_a_row = 0
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not answer {path}; see its log")
        if in_a_row == 0:
            time.sleep(0.05)  # starting, or warming up


def prepare(directory: Path, n: int) -> str:
    """A fresh copy of the 100k store (built first if needed), so every run starts from
    the same cube, and an API key of its user."""
    source = store_dir(n, "real")
    build(source, n, "real")
    vector_index(source)  # the copy carries the saved HNSW index: the server loads it
    given_pool()  # embedded now, not while the server runs
    given_queries()
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(source, directory)
    with MemOS.open(directory) as mos:
        return mos.create_key(user_id=USER, name="server-load").api_key


@dataclass(frozen=True)
class Workload:
    """What the clients of a phase send."""

    search_share: float  # the rest are adds of ``batch`` messages
    batch: int
    given_vectors: bool = False  # adds send their own embeddings (no model on the server)
    packed: bool = True  # given vectors as embeddings_base64 (as RemoteMemOS sends them)
    query_vectors: bool = False  # searches send their query's vector too (given-vector phases)
    # open loop: each client sends at Poisson times of this rate (requests/s), and a
    # request's latency counts from its planned time (a late start counts); None: each
    # client sends its next request as soon as the last one is answered (closed loop)
    rate_per_client: float | None = None


@functools.cache
def given_pool() -> tuple[list[str], npt.NDArray[np.float32]]:
    """Texts like the cube's and their vectors from the bundled model (embedded once, then
    cached): what an app that embeds its own messages sends. Until 2026-11-28 the adds
    sent random vectors, which no model makes and which cost HNSW about four times as
    much to insert (0.6 to 0.76 ms of CPU against 0.16 for the model's, at 50k)."""
    texts = synthetic_texts(GIVEN_POOL, seed=99)
    return texts, real_vectors(texts, f"given{GIVEN_POOL}")


@functools.cache
def given_queries() -> tuple[list[str], npt.NDArray[np.float32]]:
    """Questions like the clients' and their query vectors from the bundled model (embedded
    once, then cached): what an app that embeds its own queries sends with them."""
    questions = queries(GIVEN_QUERIES, seed=98)
    return questions, real_vectors(questions, f"queries{GIVEN_QUERIES}", purpose="query")


def search_request(rng: random.Random, questions: list[str], load: Workload) -> dict[str, Any]:
    """A search of one of ``questions``, or with ``load.query_vectors`` of a
    :func:`given_queries` question sent with its vector (packed, or as a list)."""
    if not load.query_vectors:
        return {"query": rng.choice(questions), "cube": CUBE, "top_k": 10}
    pool, vectors = given_queries()
    row = rng.randrange(len(pool))
    vector = ({"query_vector_base64": pack_one(vectors[row])} if load.packed
              else {"query_vector": vectors[row].tolist()})
    return {"query": pool[row], "cube": CUBE, "top_k": 10, **vector}


def add_request(
    rng: random.Random, corpus: list[str], tag: str, load: Workload
) -> tuple[str, Any]:
    """An add of ``load.batch`` new messages, or of texts with their vectors.

    The texts are like the cube's (``synthetic_texts``), each made unique. Given
    vectors are those of :func:`given_pool` texts, each moved a little (cosine about
    0.97, as a text's unique suffix moves its vector), so that no two are the same;
    they are sent packed (``embeddings_base64``, as RemoteMemOS sends them), or with
    ``load.packed`` False as a JSON list (6 decimals).
    """
    if not load.given_vectors:
        texts = [f"{rng.choice(corpus)} (note {tag}.{i})" for i in range(load.batch)]
        messages = [{"role": "user", "content": text} for text in texts]
        return "/v1/memories/messages", {"cube": CUBE, "messages": messages}
    pool_texts, pool_vectors = given_pool()
    rows = [rng.randrange(len(pool_texts)) for _ in range(load.batch)]
    texts = [f"{pool_texts[row]} (note {tag}.{i})" for i, row in enumerate(rows)]
    noise = np.random.default_rng(rng.getrandbits(32)).standard_normal((load.batch, 384))
    vectors = pool_vectors[rows] + noise * GIVEN_NOISE / np.sqrt(384)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    if load.packed:
        return "/v1/memories/texts", {"cube": CUBE, "texts": texts,
                                      "embeddings_base64": pack(vectors, len(texts))}
    return "/v1/memories/texts", {"cube": CUBE, "texts": texts,
                                  "embeddings": vectors.round(6).tolist()}


def client(url: str, key: str, start_at: float, stop_at: float, load: Workload, seed: int,
           tally: Tally) -> None:
    """One client: it sets up (its texts, its HTTP client and connection) before
    ``start_at``, then sends requests until ``stop_at`` (both ``time.perf_counter()``),
    measured from :data:`RAMP_S` after ``start_at``."""
    rng = random.Random(seed)
    questions = queries(200, seed)
    corpus = synthetic_texts(500, seed)
    if load.given_vectors:
        given_pool()  # loaded before the phase starts
    if load.query_vectors:
        given_queries()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        http.get("/healthz")  # connected before the phase starts
        if time.perf_counter() > start_at:
            with tally.lock:
                tally.late_starts += 1
        time.sleep(max(0.0, start_at - time.perf_counter()))
        n = 0
        planned, measure_from = start_at, start_at + RAMP_S
        while time.perf_counter() < stop_at:
            n += 1
            if load.rate_per_client:
                planned += rng.expovariate(load.rate_per_client)
                if planned >= stop_at:
                    break
                time.sleep(max(0.0, planned - time.perf_counter()))  # pacing the open loop
            if rng.random() < load.search_share:
                kind, path = "search", "/v1/search"
                body: Any = search_request(rng, questions, load)
            else:
                kind = "add"
                path, body = add_request(rng, corpus, f"{seed}.{n}", load)
            start = planned if load.rate_per_client else time.perf_counter()
            try:
                response = http.post(path, json=body)
            except httpx.TransportError:
                with tally.lock:
                    tally.transport_errors += 1
                continue
            ms = (time.perf_counter() - start) * 1000
            ids = [i["id"] for i in response.json()["items"]] if kind == "add" and \
                response.status_code == 201 else []
            tally.record(kind, ms, server_timing(response), response.status_code, ids,
                         measured=start >= measure_from)


def server_timing(response: httpx.Response) -> dict[str, float]:
    """The server's own time for a request, by part (ms): its ``Server-Timing`` header."""
    parts = (part.strip().split(";dur=") for part in response.headers["server-timing"].split(","))
    return {name: float(ms) for name, ms in parts}


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time so far of one process, from Linux ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_by_depth(pid: int) -> list[float]:
    """CPU time so far of a process (item 0) and of its live descendants, summed by
    depth below it (see :data:`CPU_DEPTHS`)."""
    totals = [process_cpu_seconds(pid)]
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        for depth, seconds in enumerate(_cpu_by_depth(int(child)), start=1):
            if depth == len(totals):
                totals.append(0.0)
            totals[depth] += seconds
    return totals


def _cpu(by_depth: list[float], client_s: float, requests: int) -> dict[str, Any]:
    """CPU spent per request (``by_depth``: the server's CPU seconds by process depth),
    and the request rate at which the machine's cores would be full (server and clients
    share them)."""
    server_s = sum(by_depth)
    per_request = (server_s + client_s) / requests if requests else None
    return {
        "server_s": server_s,
        "server_s_by_process_depth": by_depth,
        "client_s": client_s,
        "server_ms_per_request": 1000 * server_s / requests if requests else None,
        "client_ms_per_request": 1000 * client_s / requests if requests else None,
        "cores_full_at_requests_per_s": (os.cpu_count() or 1) / per_request
        if per_request else None,
    }


def client_threads(url: str, key: str, start_at: float, stop_at: float, load: Workload,
                   seeds: list[int]) -> tuple[Tally, float]:
    """Run one client thread per seed from ``start_at`` until ``stop_at`` (both
    ``time.time()``); what they saw, and this process's CPU seconds in the measured
    part."""
    tally = Tally()
    offset = time.perf_counter() - time.time()
    threads = [threading.Thread(target=client, args=(url, key, start_at + offset,
                                                      stop_at + offset, load, seed, tally))
               for seed in seeds]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, start_at + RAMP_S - time.time()))
    cpu = time.process_time()
    for thread in threads:
        thread.join()
    return tally, time.process_time() - cpu


class Clients:
    """The clients of every phase, their threads spread over ``processes`` processes:
    one process's threads share its interpreter lock, which on many cores makes the
    clients, not the server, the bottleneck."""

    def __init__(self, url: str, key: str, count: int, processes: int) -> None:
        self.url, self.key, self.count = url, key, count
        self.processes = min(processes, count)
        self._pool: Executor = ProcessPoolExecutor(
            self.processes, mp_context=get_context("spawn")) if self.processes > 1 \
            else ThreadPoolExecutor(1)

    def start(self, seconds: float, load: Workload, seed: int,
              count: int | None = None) -> tuple[float, list[Future[tuple[Tally, float]]]]:
        """Start all clients (or ``count``) once they have set up, for :data:`RAMP_S`
        and then ``seconds`` measured: when the measured part starts (``time.time()``),
        and what each process's clients will have seen and their CPU seconds."""
        count = count or self.count
        start_at = time.time() + SETUP_S
        stop_at = start_at + RAMP_S + seconds
        groups = [[seed + c for c in range(p, count, self.processes)]
                  for p in range(min(self.processes, count))]
        return start_at + RAMP_S, [self._pool.submit(client_threads, self.url, self.key, start_at,
                                            stop_at, load, group) for group in groups]

    def close(self) -> None:
        self._pool.shutdown()


def run_phase(clients: Clients, seconds: float, load: Workload, seed: int,
              server_pid: int, count: int | None = None) -> tuple[dict[str, Any], list[str]]:
    measure_from, parts = clients.start(seconds, load, seed, count)
    time.sleep(max(0.0, measure_from - time.time()))
    server_cpu = _cpu_by_depth(server_pid)
    tally, client_cpu = Tally(), 0.0
    for part in parts:
        part_tally, part_cpu = part.result()
        tally.merge(part_tally)
        client_cpu += part_cpu
    elapsed = time.time() - measure_from
    server_cpu = [after - before for after, before in itertools.zip_longest(
        _cpu_by_depth(server_pid), server_cpu, fillvalue=0.0)]
    summary: dict[str, Any] = {
        "loop": "closed" if load.rate_per_client is None else "open",
        "offered_requests_per_s": None if load.rate_per_client is None
        else load.rate_per_client * (count or clients.count),
        "seconds": elapsed,
        "requests": sum(tally.statuses.values()),
        "requests_per_s": sum(tally.statuses.values()) / elapsed,
        "messages_acked": tally.messages_acked,
        "messages_per_s": tally.messages_acked / elapsed,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": sum(v for k, v in tally.statuses.items() if k >= 400) + tally.transport_errors,
        "server_errors_5xx": sum(v for k, v in tally.statuses.items() if k >= 500),
        "transport_errors": tally.transport_errors,
        "clients_set_up_late": tally.late_starts,
        "cpu": _cpu(server_cpu, client_cpu, sum(tally.statuses.values())),
    }
    for kind, samples in tally.latency_ms.items():
        if samples:
            summary[f"{kind}_ms"] = _percentiles(samples)
            summary[f"{kind}_ms_in_server"] = {
                part: _percentiles(part_samples)
                for part, part_samples in tally.server_ms[kind].items()}
    if load.rate_per_client is None:
        summary["by_window"] = by_window(tally.answers, measure_from, elapsed)
    return summary, tally.acked_ids


def by_window(answers: list[tuple[float, int, float | None]], since: float, seconds: float,
              window_s: float = WINDOW_S) -> list[dict[str, Any]]:
    """Messages stored a second and search p95 in each whole ``window_s`` of a
    closed-loop phase that began at ``since``: whether its rates held throughout."""
    count = int(seconds // window_s)
    messages = [0] * count
    searches: list[list[float]] = [[] for _ in range(count)]
    for at, n, ms in answers:
        window = int((at - since) // window_s)
        if 0 <= window < count:
            messages[window] += n
            if ms is not None:
                searches[window].append(ms)
    return [{"from_s": window * window_s,
             "messages_per_s": messages[window] / window_s,
             "searches": len(searches[window]),
             "search_p95_ms": percentile(searches[window], 95) if searches[window] else None}
            for window in range(count)]


def _percentiles(samples: list[float]) -> dict[str, float]:
    return {"count": len(samples), "p50": percentile(samples, 50),
            "p95": percentile(samples, 95), "p99": percentile(samples, 99)}


def capacity(clients: Clients, load: Workload, first_rate: float, step_s: float,
             slo_ms: float, seed: int, server_pid: int) -> tuple[dict[str, Any], list[str]]:
    """Open-loop steps at a rate (requests/s of all clients) rising by a quarter each
    step, from ``first_rate`` until the searches' p95 passes ``slo_ms`` or a request
    fails: the highest rate within ``slo_ms``, and every step.

    Half steps at the first rate go first, unmeasured, until one is within ``slo_ms``
    (at most :data:`SETTLE_MAX_S`): what the phase before left to catch up (text
    mirrors reloading after many adds, index inserts, in every server process) is not
    this sweep's load. ``settle_s`` says how long that took.
    """
    steps: list[dict[str, Any]] = []
    first = replace(load, rate_per_client=first_rate / clients.count)
    acked: list[str] = []
    settle_started = time.perf_counter()
    while time.perf_counter() - settle_started < SETTLE_MAX_S:
        settle, ids = run_phase(clients, step_s / 2, first, seed - 1, server_pid)
        acked += ids
        if _within(settle, slo_ms):
            break
    settle_s = time.perf_counter() - settle_started
    rate = first_rate
    while True:
        paced = replace(load, rate_per_client=rate / clients.count)
        step, ids = run_phase(clients, step_s, paced, seed + len(steps), server_pid)
        steps.append(step)
        acked += ids
        if not _within(step, slo_ms):
            break
        rate *= 1.25
    within = [s for s in steps if _within(s, slo_ms)]
    best = within[-1] if within else None
    return {
        "slo_search_p95_ms": slo_ms,
        "settle_s": settle_s,
        "highest_offered_requests_per_s_within_slo": best and best["offered_requests_per_s"],
        "served_requests_per_s_there": best and best["requests_per_s"],
        "search_ms_there": best and best["search_ms"],
        "steps": steps,
    }, acked


def _within(step: dict[str, Any], slo_ms: float) -> bool:
    """Whether a step's searches kept their p95 within ``slo_ms`` and no request failed."""
    return "search_ms" in step and step["search_ms"]["p95"] <= slo_ms and not step["errors"]


def in_process_search(directory: Path, seconds: float, seed: int) -> dict[str, float]:
    """The same searches without HTTP, one at a time, for the server's overhead."""
    samples: list[float] = []
    with MemOS.open(directory) as mos:
        for n, question in enumerate(queries(5_000, seed)):
            start = time.perf_counter()
            mos.search(question, user_id=USER, cube=CUBE, top_k=10)
            samples.append((time.perf_counter() - start) * 1000)
            if n >= 5 and sum(samples) / 1000 > seconds:
                break
    return _percentiles(samples[5:])  # the first searches load the saved index


def stored_count(directory: Path, ids: list[str]) -> int:
    """How many of ``ids`` the store holds (looked up directly, after the server stopped)."""
    with MemOS.open(directory) as mos:
        cube = mos.cube(CUBE, user_id=USER)
        scope = Scope(USER, (cube.id,))
        return sum(len(mos.store.get_items(scope, ids[i : i + 500]))
                   for i in range(0, len(ids), 500))


def _phases_and_steps(phases: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for phase in phases.values() for step in phase.get("steps", [phase])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--client-processes", type=int, default=1,
                        help="processes the client threads are spread over (for many cores)")
    parser.add_argument("--phase-s", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--search-share", type=float, default=0.5, help="in the mixed phase")
    parser.add_argument("--batch", type=int, default=20, help="messages per add request")
    parser.add_argument("--warmup-s", type=float, default=5.0)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=1, help="memosys serve --workers")
    parser.add_argument("--query-vectors", action="store_true",
                        help="in mixed_with_given_vectors (and its sweep), searches send their "
                        "query's vector too (query_vector), as an app that embeds its queries")
    parser.add_argument("--given-vectors-as", choices=["packed", "list"], default="packed",
                        help="how adds with given vectors send them: embeddings_base64 (what "
                        "RemoteMemOS sends; the default since 2026-11-28) or a JSON list")
    parser.add_argument("--write-processes", type=int, default=None,
                        help="memosys serve --write-processes (default: the server's)")
    parser.add_argument("--first-search-rate", type=float, default=20.0,
                        help="requests/s of all clients together at the search sweep's first step")
    parser.add_argument("--first-mixed-rate", type=float, default=10.0,
                        help="requests/s of all clients together at the mixed sweep's first step")
    parser.add_argument("--step-s", type=float, default=10.0, help="seconds per sweep step")
    parser.add_argument("--slo-ms", type=float, default=50.0,
                        help="the search p95 that the sweeps hold the rate to")
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=PHASES,
                        help="which phases to run (default: all, in this order)")
    parser.add_argument("--prepare-only", action="store_true",
                        help="build the cube (cached) and exit: a timed run then skips it")
    args = parser.parse_args()
    directory = args.data_dir or CACHE / f"server-{args.n}"
    key = prepare(directory, args.n)
    if args.prepare_only:
        return
    with MemOS.open(directory) as mos:
        before = mos.count(user_id=USER, cube=CUBE)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (CACHE / "server_load.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "memosys.cli", "serve", "--data", str(directory),
         "--port", str(port), "--log-level", "warning", "--workers", str(args.workers),
         *([] if args.write_processes is None else
           ["--write-processes", str(args.write_processes)])],
        stdout=log, stderr=log, preexec_fn=_ends_with_this_process)
    seed = time.time_ns() % 2**31
    clients = Clients(url, key, args.clients, args.client_processes)
    try:
        wait_for(url, server, "/readyz", 3 * args.workers)
        warmup = Workload(1.0, args.batch)
        run_phase(clients, args.warmup_s, warmup, seed, server.pid, 2)
        phases: dict[str, Any] = {}
        acked: list[str] = []
        packed = args.given_vectors_as == "packed"
        workloads = {
            "mixed": Workload(args.search_share, args.batch),
            "search": Workload(1.0, args.batch),
            "adds": Workload(0.0, args.batch),
            "adds_with_given_vectors": Workload(0.0, args.batch, given_vectors=True,
                                                packed=packed),
            "mixed_with_given_vectors": Workload(args.search_share, args.batch,
                                                 given_vectors=True, packed=packed,
                                                 query_vectors=args.query_vectors),
        }
        for name, load in workloads.items():
            if name not in args.phases:
                continue
            phases[name], ids = run_phase(clients, args.phase_s, load,
                                          seed + 1000 * len(phases), server.pid)
            acked += ids
            print(name, phases[name], file=sys.stderr, flush=True)
        sweeps = {
            "search_capacity": (workloads["search"], args.first_search_rate),
            "mixed_capacity": (workloads["mixed"], args.first_mixed_rate),
            "mixed_with_given_vectors_capacity": (workloads["mixed_with_given_vectors"],
                                                  args.first_mixed_rate),
        }
        for name, (load, first_rate) in sweeps.items():
            if name not in args.phases:
                continue
            phases[name], ids = capacity(clients, load, first_rate, args.step_s, args.slo_ms,
                                         seed + 1000 * len(phases), server.pid)
            acked += ids
            print(name, {k: v for k, v in phases[name].items() if k != "steps"},
                  file=sys.stderr, flush=True)
    finally:
        clients.close()
        server.terminate()
        server.wait(60)
        log.close()
    stored = stored_count(directory, acked)
    vector_index(directory)  # the run's adds, brought into the saved index: searches use HNSW
    local = in_process_search(directory, args.phase_s, seed + 7)
    workers = f"_w{args.workers}" if args.workers > 1 else ""
    workers += "" if args.write_processes is None else f"_wp{args.write_processes}"
    write_result(f"server_load_c{args.clients}{workers}", {
        "note": f"{os.cpu_count()}-core machine (see the load average); the client threads "
                "run in this process and the server in a subprocess, both on loopback, "
                "sharing the cores",
        "memories_in_cube_at_start": before,
        "clients": args.clients,
        "client_processes": clients.processes,
        "server_workers": args.workers,
        "write_processes_per_worker": "the server's default" if args.write_processes is None
        else args.write_processes,
        "settings_from_environment": {
            k: v for k, v in os.environ.items() if k.startswith(("MEMOSYS_EMBEDDER__",
                                                                 "MEMOSYS_STORE__"))},
        "messages_per_add": args.batch,
        "given_vectors_sent_as": args.given_vectors_as,
        "searches_send_query_vectors_in_given_vector_phases": args.query_vectors,
        "search": "hybrid, top 10, cube of ~100k memories, queries embedded by the server",
        "server_s_by_process_depth": list(CPU_DEPTHS),
        "phases": phases,
        "in_process_search_ms_one_at_a_time": local,
        "acknowledged_writes": len(acked),
        "stored_of_acknowledged": stored,
        "lost_writes": len(acked) - stored,
        "server_errors_5xx": sum(p["server_errors_5xx"] for p in _phases_and_steps(phases)),
        "targets": {"search_p95_ms": 50, "adds_messages_per_s": 500, "lost_writes": 0,
                    "server_errors_5xx": 0},
    })


if __name__ == "__main__":
    main()

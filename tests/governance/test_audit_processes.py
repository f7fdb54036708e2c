"""Two processes writing to one data directory keep one valid audit chain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from memosys import MemOS
from memosys.governance.models import AuditQuery
from memosys.settings import HashEmbedderConfig, MemosysSettings

WRITES_PER_PROCESS = 60

WRITER = """
import sys
from memosys import MemOS

data, user, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with MemOS.open(data) as mos:  # settings.json (hash embedder) is read from the directory
    print("ready", flush=True)
    sys.stdin.readline()  # wait until both processes are ready, then write at once
    for i in range(count):
        mos.add_texts([f"{user} fact {i}"], user_id=user)
        if i % 10 == 0:
            mos.create_key(user_id=user, name=f"k{i}")
"""


def test_concurrent_appends_from_two_processes_keep_one_chain(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = MemosysSettings(embedder=HashEmbedderConfig())
    with MemOS.open(data, settings=settings):
        pass
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data), user, str(WRITES_PER_PROCESS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for user in ("ana", "bob")
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        proc.communicate(timeout=120)
        assert proc.returncode == 0
    with MemOS.open(data) as mos:
        verdict = mos.verify_audit()
        per_user = 2 + WRITES_PER_PROCESS + WRITES_PER_PROCESS // 10  # user, cube, adds, keys
        assert verdict.ok, verdict
        assert verdict.records == 2 * per_user
        seqs = [r.seq for r in mos.governance.audit_log(AuditQuery(limit=10_000))]
        assert sorted(seqs) == list(range(1, 2 * per_user + 1))
        adds = mos.audit_log(user_id="ana", action="memory.add", limit=1000)
        assert len(adds) == WRITES_PER_PROCESS

#!/bin/bash
# benchmarks/server_load.py on the lent device machine (16 CPU cores), with the wheels that
# benchmarks/gpu/pack_server.sh put in .srvload/; results and the log go to $OUT.
# WORKERS: the `serve --workers` values to run, in turn (default 8), each optionally with the
# embedding threads per worker after a colon (8:2 sets MEMOSYS_EMBEDDER__THREADS=2) and
# @base: run the source tree in .srvload/base/src (an earlier commit, for an A/B: `git
# archive REV src | tar -x -C .srvload/base` after pack_server.sh); LIMIT:
# seconds each may take (default 480); PYSPY=SECONDS: py-spy samples every server process of
# each run that long, PYSPY_AFTER seconds (default 15: the mixed phase) after the server
# starts; SKIP_SITE=1: use the current python's packages (a dry run here);
# EXTRA: more server_load.py arguments (a dry run: EXTRA="--n 3000").
set -u
PY=${PY:-python3}
OUT=${OUT:-/tmp/server-load-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/server_load.log") 2>&1
echo "== start $(date -u +%FT%TZ) on $(nproc) cores"
SITE=""
if [ -z "${SKIP_SITE:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .srvload/whl/*.whl || exit 4
  SITE=":/tmp/site"
fi
export PYTHONPATH="$(pwd)/src$SITE" PYTHONUNBUFFERED=1
export MEMOSYS_BENCH_CACHE=${MEMOSYS_BENCH_CACHE:-/tmp/memosys-bench}
$PY -c "import onnxruntime, usearch, memosys.server.app; print('imports ok')" || exit 5  # onnxruntime first (ann.py)
# the cube first, outside the runs' LIMIT (on a bare machine it takes the first run's time)
$PY benchmarks/server_load.py --prepare-only ${EXTRA:-} || exit 6
for spec in ${WORKERS:-8}; do
  src=$(pwd)/src
  case $spec in *@base) src=$(pwd)/.srvload/base/src spec=${spec%@base} base=_base ;; *) base="" ;; esac
  export PYTHONPATH="$src$SITE"
  workers=${spec%%:*} label=w${spec/:/_e}$base
  if [ "$spec" != "$workers" ]; then export MEMOSYS_EMBEDDER__THREADS=${spec#*:}
  else unset MEMOSYS_EMBEDDER__THREADS; fi
  echo "== $label"
  if [ -n "${PYSPY:-}" ]; then
    (until pid=$(pgrep -of "memosys.cli serve"); do sleep 1; done
     sleep "${PYSPY_AFTER:-15}"
     "${PYSPY_BIN:-/tmp/site/bin/py-spy}" record -p "$pid" --subprocesses --nonblocking -d "$PYSPY" -r 100 \
       -f raw -o "$OUT/pyspy_$label.raw" >/dev/null 2>&1) &
    spy=$!
  fi
  timeout "${LIMIT:-480}" $PY benchmarks/server_load.py --clients 16 --workers "$workers" \
    --phase-s 15 --warmup-s 5 --first-search-rate 100 --first-mixed-rate 20 --step-s 6 \
    ${EXTRA:-}
  echo "== rc=$?"
  [ -n "${PYSPY:-}" ] && wait "$spy"
  cp benchmarks/results/server_load_c16_w"$workers".json "$OUT/server_load_$label.json" 2>/dev/null
done
echo "== done $(date -u +%FT%TZ)"

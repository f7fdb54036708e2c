#!/bin/bash
# benchmarks/server_load.py on the lent device machine (16 CPU cores), with the wheels that
# benchmarks/gpu/pack_server.sh put in .srvload/; results and the log go to $OUT.
# WORKERS: the `serve --workers` values to run, in turn (default 8); LIMIT: seconds each may
# take (default 480); SKIP_SITE=1: use the current python's packages (a dry run here);
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
for workers in ${WORKERS:-8}; do
  echo "== workers $workers"
  timeout "${LIMIT:-480}" $PY benchmarks/server_load.py --clients 16 --workers "$workers" \
    --phase-s 15 --warmup-s 5 --first-search-rate 100 --first-mixed-rate 20 --step-s 6 \
    ${EXTRA:-}
  echo "== rc=$?"
  cp benchmarks/results/server_load_c16_w"$workers".json "$OUT/" 2>/dev/null
done
echo "== done $(date -u +%FT%TZ)"

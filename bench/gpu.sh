#!/usr/bin/env bash
# Every benchmark on a CUDA machine: one JSON file per bench (not yet run on a GPU).
#
#   bash bench/gpu.sh [OUT_DIR]            # default OUT_DIR: bench-gpu-results/
#
# Run it from the repository root of an installed checkout (`pip install -e .`). Each
# bench gets its own time limit, so one that hangs cannot eat the others' time; a
# failed or timed-out bench is reported and the rest still run. The exit code is the
# number of benches that failed. Fashion-MNIST (Debian's dataset-fashion-mnist, or the
# four IDX files in /usr/share/datasets/fashion-mnist/) is used where it is installed;
# without it the speed bench trains stage 1 on synthetic sneakers and the quality-at-
# equal-budget bench is skipped.
set -u
cd "$(dirname "$0")/.."
OUT="${1:-bench-gpu-results}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
PY="${PYTHON:-python}"
failed=0
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }

"$PY" -c "import ganctl, torch" 2>/dev/null || {
    echo "bench/gpu.sh: $PY cannot import ganctl and torch (pip install -e ., or PYTHON=...)" >&2
    exit 1; }
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || {
    echo "bench/gpu.sh: PyTorch sees no CUDA device here" >&2; exit 1; }
"$PY" -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))" \
    > "$OUT/device.txt"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
log "device: $(cat "$OUT/device.txt")"

bench() {  # bench SECONDS NAME ARGS...
    local limit="$1" name="$2"; shift 2
    log "start $name (limit ${limit}s)"
    if timeout --signal=TERM --kill-after=20 "$limit" "$PY" "$@" > "$OUT/$name.log" 2>&1; then
        log "done  $name"
    else
        log "FAILED $name (exit $?; see $OUT/$name.log)"
        failed=$((failed + 1))
    fi
}

bench 180 vs-reference -m bench.vs_reference --device cuda --pairs 3 --flip-channels-last \
    --json "$OUT/vs-reference.json"
bench 80 train-speed -m bench.train_speed --device cuda --json "$OUT/train-speed.json"
bench 140 inference -m bench.inference --device cuda -n 10000 --json "$OUT/inference.json"
if [ -d /usr/share/datasets/fashion-mnist ]; then
    bench 170 fast-defaults -m bench.fast_defaults --minutes 0.3 --json "$OUT/fast-defaults.json"
else
    log "skip  fast-defaults: no Fashion-MNIST in /usr/share/datasets/fashion-mnist"
fi
log "results in $OUT ($failed failed)"
exit "$failed"

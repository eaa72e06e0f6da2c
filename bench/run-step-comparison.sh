#!/usr/bin/env bash
# The training-step comparison of docs/PERFORMANCE.md: PyTorch eager and aspo bench step, back to
# back on the same model, batch and number of threads, RUNS times (the machine may be shared:
# every run is printed, and the ratio pytorch/aspo of each pair).
#
#   bench/run-step-comparison.sh [MODEL_DIR] [STEPS] [RUNS]
#
# MODEL_DIR (default /tmp/aspo-step-model, outside the repository: weights are never committed)
# is made by bench/pytorch/make_step_model.py when it has no config.json. THREADS (default 2) sets
# torch.set_num_threads and -Daspo.threads; PYTHON (default /work/venv/bin/python) runs PyTorch.
# ISA=avx2|sse|avx512 holds both sides to one vector ISA (bench/isa.sh); WARMUP (default 2) sets
# the warm-up steps of both.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="${1:-/tmp/aspo-step-model}"
steps="${2:-10}"
runs="${3:-3}"
threads="${THREADS:-2}"
python="${PYTHON:-/work/venv/bin/python}"
warmup="${WARMUP:-2}"
. "$root/bench/isa.sh"

[ -f "$model/config.json" ] || "$python" "$root/bench/pytorch/make_step_model.py" "$model" >&2
input="$model/input.safetensors"

for r in $(seq 1 "$runs"); do
    pt="$("$python" "$root/bench/pytorch/step_bench.py" --model "$model" --input "$input" --steps "$steps" \
        --warmup "$warmup" --threads "$threads" 2>/dev/null | tail -n 1)"
    ours="$(ASPO_JAVA_OPTS="-Daspo.threads=$threads $isa_jvm ${ASPO_JAVA_OPTS:-}" "$root/aspo" bench step --model "$model" \
        --input "$input" --steps "$steps" --warmup "$warmup" | tail -n 1)"
    echo "run $r ISA ${ISA:-native} (JVM: ${isa_jvm:-no vector flags}; ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-unset}, MKL_ENABLE_INSTRUCTIONS=${MKL_ENABLE_INSTRUCTIONS:-unset})"
    echo "run $r pytorch $pt"
    echo "run $r aspo    $ours"
    "$python" -c 'import json,sys; p=json.loads(sys.argv[1]); a=json.loads(sys.argv[2]); print("run %s ratio pytorch/aspo = %.3f" % (sys.argv[3], p["seconds_per_step"] / a["seconds_per_step"]))' "$pt" "$ours" "$r"
done

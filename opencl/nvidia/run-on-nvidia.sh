#!/usr/bin/env bash
# On a GPU machine with the NVIDIA driver (libnvidia-opencl.so.1) but no Java, ICD loader or network:
# runs the OpenCL test suite (ASPO_OPENCL_REQUIRED=1), the GEMM benchmark and the training step of
# docs/PERFORMANCE.md eager and replayed as a task graph (JMH LlavaStepBench, random weights) from the
# bundle that opencl/nvidia/prepare.sh built, writing everything under $OUT (default: a new
# temporary folder).
#
#   opencl/nvidia/run-on-nvidia.sh            (from the repository root, bundle at opencl/nvidia/bundle)
#
# ASPO_OPENCL_DEVICE picks the device (default "opencl": the first GPU); GEMM_SIZES and GEMM_REPS
# size the GEMM benchmark; STEP_BENCH=0 skips the step benchmark. Exit status: 0 when the tests
# pass and the benchmarks ran.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
B=$ROOT/opencl/nvidia/bundle
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
[ -f "$B/jre.tar.gz" ] || { echo "no bundle at $B: run opencl/nvidia/prepare.sh first and carry opencl/nvidia/bundle"; exit 2; }

echo "== machine"
date -u
uname -a
command -v nvidia-smi >/dev/null && nvidia-smi | tee "$OUT/nvidia-smi.txt" || echo "(no nvidia-smi)"

echo "== ICD file"
# The ICD loader finds vendor drivers through /etc/OpenCL/vendors/*.icd; the driver (or the
# container runtime that mounts it) may not have installed one. Write it when the NVIDIA OpenCL
# library or nvidia-smi is present, else (no root) point OCL_ICD_VENDORS at a private folder.
nvlib=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl.so.1/ {print $NF; exit}')
[ -n "$nvlib" ] || nvlib=$(ls /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 /usr/lib64/libnvidia-opencl.so.1 \
  /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/libnvidia-opencl.so.1 2>/dev/null | head -1)
echo "libnvidia-opencl.so.1: ${nvlib:-not found}"
if [ -n "$nvlib" ]; then
  export LD_LIBRARY_PATH=$(dirname "$nvlib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
if [ ! -e /etc/OpenCL/vendors/nvidia.icd ] && { [ -n "$nvlib" ] || command -v nvidia-smi >/dev/null; }; then
  if mkdir -p /etc/OpenCL/vendors 2>/dev/null && echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd 2>/dev/null; then
    echo "wrote /etc/OpenCL/vendors/nvidia.icd"
  else
    mkdir -p "$WORK/vendors" && echo libnvidia-opencl.so.1 > "$WORK/vendors/nvidia.icd"
    export OCL_ICD_VENDORS=$WORK/vendors
    echo "no write access to /etc: OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
  fi
fi
ls -la /etc/OpenCL/vendors 2>/dev/null; cat /etc/OpenCL/vendors/*.icd 2>/dev/null

echo "== Java"
tar xzf "$B/jre.tar.gz" -C "$WORK"
JAVA=$WORK/jre/bin/java
export LD_LIBRARY_PATH=$B/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# libjsig: harmless on NVIDIA, needed when the platform is PoCL (its LLVM takes the JVM's signals)
export LD_PRELOAD=$WORK/jre/lib/libjsig.so
export POCL_CACHE_DIR=$WORK/pocl-cache
export ASPO_OPENCL_REQUIRED=1
"$JAVA" -version
# the JVM options every run shares (jvm.options at the repository root), then this machine's own
[ -f "$ROOT/jvm.options" ] || { echo "no $ROOT/jvm.options: run from a checkout of the repository"; exit 2; }
JOPTS=("@$ROOT/jvm.options" -Xmx16g -Djava.io.tmpdir="$WORK")
CP=$(ls "$B"/jars/aspo-*.jar "$B"/jars/jocl-*.jar | tr '\n' ':')
[ -f "$B/jars/benchmarks.jar" ] || { echo "the bundle has no benchmarks.jar: run opencl/nvidia/prepare.sh again"; exit 2; }

echo "== OpenCL devices"
"$JAVA" "${JOPTS[@]}" -cp "$CP" dev.aspo.opencl.Devices 2>&1 | grep -v 'incubator modules' | tee "$OUT/devices.txt"

echo "== OpenCL test suite"
timeout 300 "$JAVA" "${JOPTS[@]}" -jar "$B"/jars/junit-platform-console-standalone-*.jar execute \
  --disable-banner --fail-if-no-tests --class-path "$CP" --select-package dev.aspo.opencl --details=tree \
  --reports-dir "$OUT/junit" 2>&1 | grep -v 'incubator modules' | tee "$OUT/tests.txt"
tests=${PIPESTATUS[0]}
echo "tests exit status: $tests"

echo "== GEMM benchmark"
timeout 150 "$JAVA" "${JOPTS[@]}" -cp "$CP" dev.aspo.opencl.GemmBench "${ASPO_OPENCL_DEVICE:-opencl}" \
  "${GEMM_SIZES:-256,1024,2048}" "${GEMM_REPS:-10}" 2>&1 | grep -v 'incubator modules' | tee "$OUT/gemm.txt"
bench=${PIPESTATUS[0]}
echo "benchmark exit status: $bench"

step=0
if [ "${STEP_BENCH:-1}" != 0 ]; then
  echo "== training step, eager and replayed (JMH LlavaStepBench, -p model=random)"
  timeout 420 "$JAVA" "${JOPTS[@]}" -jar "$B/jars/benchmarks.jar" 'LlavaStepBench.(step|replayedStep)$' \
    -p model=random -p device="${ASPO_OPENCL_DEVICE:-opencl}" -f 1 -wi 3 -i 5 -w 2 -r 3 \
    -jvmArgsAppend "-Djava.io.tmpdir=$WORK" 2>&1 | grep -v 'incubator modules' | tee "$OUT/step.txt"
  step=${PIPESTATUS[0]}
  echo "step benchmark exit status: $step"
fi

echo "== done: tests $tests, GEMM benchmark $bench, step benchmark $step; output in $OUT"
[ "$tests" = 0 ] && [ "$bench" = 0 ] && [ "$step" = 0 ]

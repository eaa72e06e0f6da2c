#!/usr/bin/env bash
# Runs the JMH MatmulBench and then PyTorch's torch.mm on the same sizes, back to back, so both
# see the same machine state, and prints GFLOP/s side by side (docs/PERFORMANCE.md).
# Build first: mvn -B -q package -DskipTests
#   JAVA=/path/to/java  (default: java)      PYTHON=/path/to/python  (default: python3)
#   SIZES="256 512 1024" (default)            extra arguments go to JMH, e.g. -i 10
#   ISA=avx2|sse|avx512 holds both sides to one vector ISA (bench/isa.sh says how)
#   ROUNDS=3 runs the pair 3 times, interleaved (aspo, torch, aspo, torch, ...): the machine may
#            be shared, so compare the rounds, not single figures
# (-jvmArgsAppend replaces the benchmark's own @Fork flags, so it repeats --add-modules.)
# JMH runs in sample mode (every operation timed), so both sides report a median and a best time.
set -euo pipefail
cd "$(dirname "$0")/.."
JAVA="${JAVA:-java}"
PYTHON="${PYTHON:-python3}"
SIZES="${SIZES:-256 512 1024}"
ROUNDS="${ROUNDS:-1}"
. bench/isa.sh
JAR=bench/target/benchmarks.jar
[ -f "$JAR" ] || { echo "missing $JAR: run 'mvn -B -q package -DskipTests' first" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS, ISA ${ISA:-native}: aspo CpuBackend.matmul (JMH, $("$JAVA" -version 2>&1 | head -1), ${isa_jvm:-no vector flags})"
  "$JAVA" -jar "$JAR" '^dev\.aspo\.bench\.MatmulBench\.' -p n="$(echo $SIZES | tr ' ' ,)" -wi 3 -i 5 -f 1 -bm sample -tu ms \
    ${isa_jvm:+-jvmArgsAppend "--add-modules jdk.incubator.vector $isa_jvm"} -rf csv -rff "$tmp/jmh.csv" "$@"

  echo
  echo "== PyTorch torch.mm (ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-unset}, MKL_ENABLE_INSTRUCTIONS=${MKL_ENABLE_INSTRUCTIONS:-unset})"
  "$PYTHON" bench/pytorch/matmul_bench.py --sizes $SIZES --csv "$tmp/torch.csv"

  echo
  echo "== round $round, ISA ${ISA:-native}: GFLOP/s = 2 n^3 / time, from the median (and the best) operation"
  # JMH csv: "Benchmark","Mode","Threads","Samples","Score","Score Error (99.9%)","Unit","Param: n";
  # sample mode adds rows "...matmul:p0.50" (median) and "...matmul:p0.00" (fastest).
  awk -F, '
    { sub(/\r$/, "") }
    FNR == 1 && NR != 1 { torchfile = 1 }
    !torchfile && FNR > 1 {
      gsub(/"/, "")
      if ($1 ~ /:p0\.50$/) med[$8] = $5
      if ($1 ~ /:p0\.00$/) best[$8] = $5
    }
    torchfile { tmed[$1] = $2; tbest[$1] = $3 }
    END {
      printf "%6s %12s %12s %8s   %12s %12s %8s\n", "n", "aspo median", "torch median", "ratio", "aspo best", "torch best", "ratio"
      for (n in med) if (n in tmed) {
        fl = 2 * n * n * n / 1e6   # flop per ms -> GFLOP/s
        printf "%6d %12.1f %12.1f %8.2f   %12.1f %12.1f %8.2f\n", n, fl / med[n], fl / tmed[n], tmed[n] / med[n],
               fl / best[n], fl / tbest[n], tbest[n] / best[n]
      }
    }' "$tmp/jmh.csv" "$tmp/torch.csv" | sort -n
  echo
done

#!/usr/bin/env bash
# Runs the JMH MatmulBench and then PyTorch's torch.mm on the same sizes, back to back, so both
# see the same machine state, and prints GFLOP/s side by side (docs/PERFORMANCE.md).
# Build first: mvn -B -q package -DskipTests
#   JAVA=/path/to/java  (default: java)      PYTHON=/path/to/python  (default: python3)
#   extra arguments go to JMH, e.g.  bench/run-matmul-comparison.sh -p n=1024
set -euo pipefail
cd "$(dirname "$0")/.."
JAVA="${JAVA:-java}"
PYTHON="${PYTHON:-python3}"
JAR=bench/target/benchmarks.jar
[ -f "$JAR" ] || { echo "missing $JAR: run 'mvn -B -q package -DskipTests' first" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== aspo CpuBackend.matmul (JMH, $("$JAVA" -version 2>&1 | head -1))"
"$JAVA" -jar "$JAR" MatmulBench -wi 3 -i 5 -f 1 -bm avgt -tu ms -rf csv -rff "$tmp/jmh.csv" "$@"

echo
echo "== PyTorch torch.mm"
"$PYTHON" bench/pytorch/matmul_bench.py --csv "$tmp/torch.csv"

echo
echo "== GFLOP/s (2 n^3 / time; aspo: JMH average, torch: median)"
# JMH csv: "Benchmark","Mode","Threads","Samples","Score","Score Error (99.9%)","Unit","Param: n"
awk -F, '
  { sub(/\r$/, "") }
  FNR == 1 && NR != 1 { torchfile = 1 }
  !torchfile && FNR > 1 { gsub(/"/, ""); aspo[$8] = $5 }
  torchfile { torch[$1] = $2 }
  END {
    printf "%6s %10s %10s %8s\n", "n", "aspo", "torch", "ratio"
    for (n in aspo) if (n in torch) {
      fl = 2 * n * n * n / 1e6   # per ms -> GFLOP/s
      printf "%6d %10.1f %10.1f %8.2f\n", n, fl / aspo[n], fl / torch[n], torch[n] / aspo[n]
    }
  }' "$tmp/jmh.csv" "$tmp/torch.csv" | sort -n

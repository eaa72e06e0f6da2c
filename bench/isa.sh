# Sourced by the comparison scripts: ISA=avx512|avx2|sse (default: the machine's own, unrestricted)
# holds both sides to one vector ISA, so that their ratio compares like with like on any machine
# that has the wider one (docs/PERFORMANCE.md):
#   avx2    JVM -XX:UseAVX=2: C2 uses only VEX encoding, the 16 ymm registers, 8 floats per vector.
#           PyTorch ATEN_CPU_CAPABILITY=avx2 (ATen's own kernels) and MKL_ENABLE_INSTRUCTIONS=AVX2
#           (MKL's GEMM).
#   sse     JVM -XX:MaxVectorSize=16: 4 floats per vector, the width of NEON (the register file
#           stays that of the machine: 32 with AVX-512, 16 under UseAVX=2). PyTorch
#           ATEN_CPU_CAPABILITY=default (ATen's kernels compiled for the baseline x86-64, SSE2, 128
#           bits) and MKL_ENABLE_INSTRUCTIONS=SSE4_2 (MKL's 128-bit code path).
#   avx512  nothing restricted on an AVX-512 machine; spelled out for the tables.
# On an AMD Zen 5, MKL ran its AVX2 GEMM under every setting (even SSE4_2: faster than 128-bit
# vectors can go), so there the sse ratio is not like with like (docs/PERFORMANCE.md).
# Sets isa_jvm (JVM flags) and exports the PyTorch variables.
isa_jvm=""
case "${ISA:-}" in
  "" | native) ;;
  avx512) ;;
  avx2) isa_jvm="-XX:UseAVX=2"; export ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ;;
  sse) isa_jvm="-XX:MaxVectorSize=16"; export ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 ;;
  *) echo "ISA=$ISA: expected avx512, avx2 or sse" >&2; exit 2 ;;
esac

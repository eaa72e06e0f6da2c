#!/usr/bin/env bash
# Builds opencl/nvidia/bundle/ (git-ignored), everything run-on-nvidia.sh needs on a GPU machine
# that has the NVIDIA driver but no Java, no ICD loader and no network:
#   jre.tar.gz   a jlinked Java runtime (from a Temurin JDK: built against glibc 2.17, so it runs on
#                old and new distributions alike)
#   jars/        aspo-tensor, aspo-opencl, the opencl test classes, jocl, the JUnit console launcher,
#                and bench/'s benchmarks.jar (JMH; the training-step benchmark runs with -p model=random)
#   lib/         libOpenCL.so(.1) from Debian's ocl-icd-libopencl1 (the ICD loader; JOCL opens libOpenCL.so)
# Run from anywhere on a machine with Maven, the JDK and apt: opencl/nvidia/prepare.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
B=opencl/nvidia/bundle
JLINK_JDK=${JLINK_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}
JUNIT_CONSOLE=org.junit.platform:junit-platform-console-standalone:1.14.1
JOCL=org.jocl:jocl:2.0.5
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

rm -rf "$B"
mkdir -p "$B/jars" "$B/lib"

echo "== jars"
mvn -B -q package -DskipTests -pl opencl,bench -am
cp tensor/target/aspo-tensor-*.jar opencl/target/aspo-opencl-*.jar bench/target/benchmarks.jar "$B/jars/"
"$JLINK_JDK/bin/jar" cf "$B/jars/aspo-opencl-tests.jar" -C opencl/target/test-classes .
mvn -B -q dependency:copy -Dartifact="$JOCL" -DoutputDirectory="$B/jars"
mvn -B -q dependency:copy -Dartifact="$JUNIT_CONSOLE" -DoutputDirectory="$B/jars"

echo "== Java runtime (jlink from $JLINK_JDK)"
"$JLINK_JDK/bin/jlink" --add-modules java.base,java.desktop,jdk.incubator.vector,java.logging,jdk.unsupported,java.management,jdk.zipfs \
  --strip-java-debug-attributes --no-header-files --no-man-pages --compress=zip-9 --output "$TMP/jre" 2>&1 | grep -v 'incubator modules' || true
tar czf "$B/jre.tar.gz" -C "$TMP" jre

echo "== ICD loader (ocl-icd-libopencl1)"
(cd "$TMP" && apt-get download ocl-icd-libopencl1 2>/dev/null)
dpkg-deb -x "$TMP"/ocl-icd-libopencl1_*.deb "$TMP/icd"
lib=$(find "$TMP/icd" -name 'libOpenCL.so.1*' -type f | head -1)
cp "$lib" "$B/lib/libOpenCL.so.1"
cp "$lib" "$B/lib/libOpenCL.so"       # copies, not links: the bundle travels as plain files

du -sh "$B"
ls -la "$B" "$B/jars" "$B/lib"

/** JMH benchmarks; run with {@code java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar}. */
package dev.aspo.bench;

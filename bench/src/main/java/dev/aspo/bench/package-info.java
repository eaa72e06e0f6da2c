/** JMH benchmarks; run with {@code java @jvm.options -jar bench/target/benchmarks.jar} from the repository root. */
package dev.aspo.bench;

/**
 * Autoregressive decoding: {@link dev.aspo.models.generate.KvCache} (per-layer keys/values and the
 * key mask), {@link dev.aspo.models.generate.Sampler} (greedy, or temperature/top-k/top-p as
 * transformers' warpers, seeded) and {@link dev.aspo.models.generate.Generator} (batched, left
 * padding with generate's position ids, EOS per row, no gradients) over any
 * {@link dev.aspo.models.generate.CausalLm}.
 */
package dev.aspo.models.generate;

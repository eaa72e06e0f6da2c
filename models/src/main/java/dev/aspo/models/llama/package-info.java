/**
 * The Llama decoder in Hugging Face's formats: {@link dev.aspo.models.llama.LlamaConfig}
 * ({@code config.json}, transformers 5.17 schema) and {@link dev.aspo.models.llama.LlamaForCausalLM}
 * (parameters under transformers' names, load/save of {@code model.safetensors}, forward over ids or
 * embeddings with an optional KV cache, the shifted causal-LM loss). Parity with transformers'
 * {@code LlamaForCausalLM} (logits, loss, every gradient) is tested on fixtures made by
 * {@code models/src/test/python/make_llama_fixtures.py}.
 */
package dev.aspo.models.llama;

/**
 * LLaVA in Hugging Face's formats: {@link dev.aspo.models.llava.LlavaConfig} ({@code config.json},
 * transformers 5.17 schema, model_type {@code llava}), {@link dev.aspo.models.llava.LlavaForConditionalGeneration}
 * (CLIP vision tower + {@link dev.aspo.models.llava.LlavaProjector} + Llama, forward with image
 * features spliced into the token embeddings, the causal-LM loss, generation, load in every
 * checkpoint layout transformers and the llava-hf hub use, save in transformers 5.17's layout)
 * and {@link dev.aspo.models.llava.LlavaProcessor} (chat template, image-token expansion,
 * tokenizer and image preprocessing). Parity with transformers (logits, loss, every gradient,
 * greedy generation) is tested on fixtures made by {@code models/src/test/python/make_llava_fixtures.py}.
 */
package dev.aspo.models.llava;

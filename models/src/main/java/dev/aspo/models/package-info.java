/**
 * Layers and models in Hugging Face formats: CLIP, Llama, LLaVA, {@code config.json} and
 * weight-name mapping, {@code tokenizer.json} BPE, image preprocessing, generation.
 * Filled by the models issue; the module exists so the build has its final shape.
 */
package dev.aspo.models;

/**
 * LoRA adapters with PEFT's semantics and file format: {@link dev.aspo.models.lora.LoraConfig}
 * ({@code adapter_config.json}), {@link dev.aspo.models.lora.TargetModules} (PEFT's
 * {@code target_modules}/{@code exclude_modules} matching), {@link dev.aspo.models.lora.LoraLayer}
 * (one adapter on a linear layer) and {@link dev.aspo.models.lora.LoraModel} (inject, freeze the
 * base, enable/disable, merge, save and load {@code adapter_model.safetensors} under PEFT's
 * names). Parity with PEFT (logits, every adapter gradient, merged weights, files in both
 * directions) is tested on fixtures made by {@code models/src/test/python/make_lora_fixtures.py}.
 */
package dev.aspo.models.lora;

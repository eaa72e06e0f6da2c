/**
 * CLIP as transformers 5.17 defines it, with HF's parameter names and formats:
 * {@link dev.aspo.models.clip.ClipModel} (model_type {@code clip}, the dual encoder with the
 * contrastive loss) and {@link dev.aspo.models.clip.ClipVisionModel} (model_type
 * {@code clip_vision_model}, the vision tower alone), built from
 * {@link dev.aspo.models.clip.ClipVisionTransformer} and {@link dev.aspo.models.clip.ClipTextTransformer};
 * configs in {@link dev.aspo.models.clip.ClipConfig}, {@link dev.aspo.models.clip.ClipTextConfig} and
 * {@link dev.aspo.models.clip.ClipVisionConfig}.
 */
package dev.aspo.models.clip;

package dev.aspo.models.clip;

import dev.aspo.tensor.Tensor;

/**
 * What HF's {@code CLIPModel.forward} returns.
 *
 * <p>One deliberate difference: transformers 5.17's {@code get_*_features} overwrite the towers'
 * {@code pooler_output} with the projection, so its {@code text_model_output.pooler_output} and
 * {@code vision_model_output.pooler_output} hold the projected features; here the towers' outputs
 * stay what the towers return, and the projected ones are {@link ClipModel#imageFeatures} and
 * {@link ClipModel#textFeatures}.
 *
 * @param loss {@code [1]}, the symmetric contrastive loss, or null when not asked for
 * @param logitsPerImage {@code [B_img, B_txt]}: {@code exp(logit_scale)} times the cosine similarities
 * @param logitsPerText {@code [B_txt, B_img]}: its transpose
 * @param textEmbeds {@code [B_txt, projection_dim]}, projected and L2-normalised
 * @param imageEmbeds {@code [B_img, projection_dim]}, projected and L2-normalised
 * @param textModelOutput the text tower's outputs (pooler output before the projection)
 * @param visionModelOutput the vision tower's outputs (pooler output before the projection)
 */
public record ClipOutput(
        Tensor loss,
        Tensor logitsPerImage,
        Tensor logitsPerText,
        Tensor textEmbeds,
        Tensor imageEmbeds,
        ClipTextOutput textModelOutput,
        ClipVisionOutput visionModelOutput) {}

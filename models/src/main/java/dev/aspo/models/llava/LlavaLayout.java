package dev.aspo.models.llava;

import dev.aspo.models.hf.Weights;
import dev.aspo.tensor.io.SafeTensorsCheckpoint;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * The tensor-name layouts of LLaVA checkpoints, and the mapping of each to our parameter names
 * (which are the layout transformers 5.17's {@code save_pretrained} writes).
 *
 * <pre>
 *                      vision tower                          projector                     language model            head
 *   5.17 save (ours)   vision_tower.embeddings...             multi_modal_projector.*       language_model.model.*    language_model.lm_head.weight
 *   llava-hf hub, 4.x  vision_tower.vision_model.embeddings...  multi_modal_projector.*     language_model.model.*    language_model.lm_head.weight
 *   in-memory 4.52+    model.vision_tower.vision_model....     model.multi_modal_projector.* model.language_model.*   lm_head.weight
 *   in-memory 5.x      model.vision_tower.embeddings...        model.multi_modal_projector.* model.language_model.*   lm_head.weight
 * </pre>
 *
 * transformers 5.17 loads all four (its {@code conversion_mapping} for llava renames the top-level
 * prefixes, and {@code CLIPVisionModel}'s drops {@code vision_model.}); so do we. A file is read
 * in one layout: its names must all use one family of prefixes (top-level or {@code model.}) and
 * one form of the vision tower (with or without {@code vision_model.}); a mix is one error naming
 * a tensor of each. Names in no layout reach {@link Weights#load} unchanged and are reported
 * there as unexpected, with the missing ones. Buffers some exports carry
 * ({@code embeddings.position_ids}, {@code rotary_emb.inv_freq}) are skipped, and so is a
 * redundant {@code lm_head.weight} beside tied embeddings.
 */
final class LlavaLayout {
    private LlavaLayout() {}

    private static final String VISION = "vision_tower.", PROJECTOR = "multi_modal_projector.",
            LANGUAGE = "language_model.", NESTED = "vision_model.", PREFIXED = "model.";

    /** A mapping for the tensors of the checkpoint at {@code dir}, after checking they use one layout. */
    static Function<String, String> mapping(Path dir, boolean tied) throws IOException {
        return mapping(dir.toString(), tensorNames(dir), tied);
    }

    static Function<String, String> mapping(String source, List<String> names, boolean tied) throws IOException {
        String topLevel = null, prefixed = null, nested = null, flat = null;
        for (String n : names) {
            if (isBuffer(n)) continue;
            String rest;
            if (n.startsWith(PREFIXED) || n.startsWith("lm_head.")) {
                if (prefixed == null) prefixed = n;
                rest = n.startsWith(PREFIXED) ? n.substring(PREFIXED.length()) : n;
            } else if (n.startsWith(VISION) || n.startsWith(PROJECTOR) || n.startsWith(LANGUAGE)) {
                if (topLevel == null) topLevel = n;
                rest = n;
            } else {
                continue;                       // unknown: Weights reports it as unexpected
            }
            if (rest.startsWith(VISION)) {
                if (rest.startsWith(VISION + NESTED)) {
                    if (nested == null) nested = n;
                } else if (flat == null) {
                    flat = n;
                }
            }
        }
        if (topLevel != null && prefixed != null) {
            throw new IOException(source + ": the tensor names mix two LLaVA layouts: '" + topLevel
                    + "' (as save_pretrained and the llava-hf hub write them) and '" + prefixed
                    + "' (transformers' in-memory names, under model. and lm_head.); a checkpoint uses one");
        }
        if (nested != null && flat != null) {
            throw new IOException(source + ": the vision tower's tensor names mix two layouts: '" + nested
                    + "' (with vision_model., as transformers 4.x and the llava-hf hub) and '" + flat
                    + "' (without, as transformers 5.x); a checkpoint uses one");
        }
        return n -> toModule(n, tied);
    }

    /** A checkpoint name as our parameter name, or null for a tensor that is skipped. */
    static String toModule(String name, boolean tied) {
        if (isBuffer(name)) return null;
        String n = name;
        if (n.startsWith(PREFIXED + VISION)) n = n.substring(PREFIXED.length());
        else if (n.startsWith(PREFIXED + PROJECTOR)) n = n.substring(PREFIXED.length());
        else if (n.startsWith(PREFIXED + LANGUAGE)) n = LANGUAGE + "model." + n.substring((PREFIXED + LANGUAGE).length());
        else if (n.startsWith("lm_head.")) n = LANGUAGE + n;
        if (n.startsWith(VISION + NESTED)) n = VISION + n.substring((VISION + NESTED).length());
        if (tied && n.equals(LANGUAGE + "lm_head.weight")) return null;
        return n;
    }

    private static boolean isBuffer(String name) {
        return name.endsWith("embeddings.position_ids") || name.endsWith("rotary_emb.inv_freq");
    }

    /** The tensor names of the checkpoint in {@code dir}: its {@code model.safetensors}, or the shards its index lists. */
    static List<String> tensorNames(Path dir) throws IOException {
        try (SafeTensorsCheckpoint st = SafeTensorsCheckpoint.open(dir)) {
            return st.names();
        }
    }
}

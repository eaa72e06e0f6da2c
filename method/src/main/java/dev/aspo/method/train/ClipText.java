package dev.aspo.method.train;

import dev.aspo.models.clip.ClipTextConfig;
import dev.aspo.models.tokenizer.Tokenizer;
import java.util.Arrays;

/** Token ids for CLIP's text tower: the tokenizer's special tokens, EOS last (the tower pools there), at most max_position_embeddings. */
public final class ClipText {
    private ClipText() {}

    public static int[] ids(Tokenizer tokenizer, ClipTextConfig config, String text) {
        int[] ids = tokenizer.encode(text, true).ids();
        Integer eos = config.eosTokenId();
        if (eos != null && eos != 2 && (ids.length == 0 || ids[ids.length - 1] != eos)) {   // 2: legacy argmax pooling
            ids = Arrays.copyOf(ids, ids.length + 1);
            ids[ids.length - 1] = eos;
        }
        int max = config.maxPositionEmbeddings();
        if (ids.length > max) {   // keep the final token (EOS) the tower pools at
            int last = ids[ids.length - 1];
            ids = Arrays.copyOf(ids, max);
            ids[max - 1] = last;
        }
        return ids;
    }
}

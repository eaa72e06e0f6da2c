package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.models.hf.HfJson;
import dev.aspo.tensor.io.IoErrors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A Hugging Face {@code tokenizer.json} tokenizer with a BPE model, giving the same ids, tokens
 * and offsets as the Python {@code tokenizers} library.
 *
 * <pre>
 *   text ─► added tokens split out (raw text) ─► normalizer (per piece) ─► added tokens split
 *        out (normalized text) ─► pre-tokenizer (words) ─► BPE (ids) ─► post-processor ─► Encoding
 *   ids  ─► token strings (special ones optionally skipped) ─► decoder chain ─► text
 * </pre>
 *
 * Supported components are listed by {@link TextNormalizer}, {@link PreTokenizer},
 * {@link PostProcessor} and {@link Decoder}; anything else fails at load time with a
 * {@link TokenizerFormatException} naming the file and the component type. Instances are
 * immutable and safe to share between threads.
 */
public final class Tokenizer {
    private static final ObjectMapper MAPPER = HfJson.strictMapper();   // a token listed twice in "vocab" is an error

    private final JsonNode json;
    private final TextNormalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final Bpe model;
    private final AddedVocabulary added;
    private final PostProcessor postProcessor;
    private final Decoder decoder;

    private Tokenizer(JsonNode json) {
        if (!json.isObject()) throw new TokenizerFormatException("expected a JSON object at the top level, got " + Json.kind(json));
        String version = Json.optText(json, "version", "tokenizer");
        if (version != null && !version.equals("1.0")) {
            throw new TokenizerFormatException("unknown tokenizer.json version \"" + version + "\" (expected 1.0)");
        }
        if (!Json.isNull(json.get("truncation"))) {
            throw new TokenizerFormatException("truncation is not supported (set \"truncation\" to null)");
        }
        if (!Json.isNull(json.get("padding"))) {
            throw new TokenizerFormatException("padding is not supported (set \"padding\" to null)");
        }
        this.json = json;
        this.model = Bpe.fromJson(Json.object(json, "model", "tokenizer"), "model");
        JsonNode n = json.get("normalizer");
        this.normalizer = Json.isNull(n) ? null : TextNormalizer.fromJson(n, "normalizer");
        JsonNode p = json.get("pre_tokenizer");
        this.preTokenizer = Json.isNull(p) ? null : PreTokenizer.fromJson(p, "pre_tokenizer");
        JsonNode pp = json.get("post_processor");
        this.postProcessor = Json.isNull(pp) ? null : PostProcessor.fromJson(pp, "post_processor");
        JsonNode d = json.get("decoder");
        this.decoder = Json.isNull(d) ? null : Decoder.fromJson(d, "decoder");
        JsonNode a = json.get("added_tokens");
        if (!Json.isNull(a) && !a.isArray()) throw new TokenizerFormatException("added_tokens: expected an array, got " + Json.kind(a));
        this.added = new AddedVocabulary(Json.isNull(a) ? null : a, model, normalizer, "added_tokens");
    }

    /** Loads a tokenizer.json file. */
    public static Tokenizer fromFile(Path path) {
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer file " + path + " (" + IoErrors.reason(e) + ")", e);
        }
        return fromJson(text, path.toString());
    }

    /** Parses tokenizer.json text; {@code source} names it in error messages. */
    public static Tokenizer fromJson(String text, String source) {
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new TokenizerFormatException(source + ": not valid JSON: " + HfJson.describe(e), e);
        }
        if (root == null || root.isMissingNode()) throw new TokenizerFormatException(source + ": empty file");
        return fromJson(root, source);
    }

    static Tokenizer fromJson(JsonNode root, String source) {
        try {
            return new Tokenizer(root);
        } catch (TokenizerFormatException e) {
            throw new TokenizerFormatException(source + ": " + e.getMessage(), e);
        }
    }

    /** Encodes {@code text} with special tokens added by the post-processor (e.g. BOS). */
    public Encoding encode(String text) {
        return encode(text, true);
    }

    /** Encodes one sequence; offsets are code-point ranges of {@code text}. */
    public Encoding encode(String text, boolean addSpecialTokens) {
        int[] cps = text.codePoints().toArray();
        // Lone surrogates cannot be UTF-8 (Python cannot even pass them to HF): treat as U+FFFD.
        for (int i = 0; i < cps.length; i++) if (cps[i] >= 0xD800 && cps[i] <= 0xDFFF) cps[i] = 0xFFFD;
        List<Token> tokens = new ArrayList<>();
        List<NormalizedString> words = new ArrayList<>();
        for (AddedVocabulary.Piece piece : added.extractAndNormalize(normalizer, cps)) {
            NormalizedString s = piece.text;
            if (piece.addedId >= 0) {
                tokens.add(new Token(piece.addedId, s.get(), s.originalStart(0, s.length()),
                        s.originalEnd(0, s.length()), false));
                continue;
            }
            words.clear();
            if (preTokenizer == null) words.add(s);
            else preTokenizer.preTokenize(s, words);
            for (NormalizedString w : words) {
                int[] r = model.tokenize(w.codePoints(), w.length());
                for (int k = 0; k < r.length; k += 3) {
                    tokens.add(new Token(r[k], model.idToToken(r[k]), w.originalStart(r[k + 1], r[k + 2]),
                            w.originalEnd(r[k + 1], r[k + 2]), false));
                }
            }
        }
        if (postProcessor != null) tokens = postProcessor.process(tokens, addSpecialTokens);
        return new Encoding(tokens);
    }

    /**
     * Decodes ids to text. Unknown ids are skipped; with {@code skipSpecialTokens} the special
     * added tokens (BOS, EOS, &lt;image&gt;...) are left out.
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            String t = added.idToContent(id);
            if (t == null) t = model.idToToken(id);
            if (t == null) continue;
            if (skipSpecialTokens && added.isSpecial(t)) continue;
            tokens.add(t);
        }
        if (decoder == null) return String.join(" ", tokens);
        return String.join("", decoder.decodeChain(tokens));
    }

    /** The id of a token string (added tokens first, then the model vocabulary), or -1. */
    public int tokenToId(String token) {
        return added.tokenToId(token, model);
    }

    /** The string of a token id, or null when no token has it. */
    public String idToToken(int id) {
        String t = added.idToContent(id);
        return t != null ? t : model.idToToken(id);
    }

    /** Whether {@code id} is a special added token (what decode skips). */
    public boolean isSpecial(int id) {
        String t = added.idToContent(id);
        return t != null && added.isSpecial(t);
    }

    /**
     * Number of distinct token strings, model vocabulary and added tokens together (HF's
     * {@code get_vocab_size(with_added_tokens=True)}). The largest id is at most this minus one
     * for tokenizers whose ids are contiguous, as trained ones are.
     */
    public int vocabSize() {
        int n = model.vocabSize();
        for (String c : added.contents().keySet()) if (model.tokenToId(c) < 0) n++;
        return n;
    }

    /** The added tokens with their resolved ids, in file order. */
    public List<AddedToken> addedTokens() {
        return added.tokens();
    }

    /** The tokenizer.json this tokenizer was built from, pretty-printed. */
    public String toJson() {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes {@link #toJson()} to {@code path} (UTF-8). */
    public void save(Path path) {
        try {
            Files.writeString(path, toJson(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write tokenizer file " + path + ": " + e.getMessage(), e);
        }
    }
}

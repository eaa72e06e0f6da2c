/**
 * Hugging Face {@code tokenizer.json} BPE tokenizers: load, encode with code-point offsets,
 * decode, and train.
 *
 * <p>Entry points: {@link dev.aspo.models.tokenizer.Tokenizer#fromFile} then
 * {@link dev.aspo.models.tokenizer.Tokenizer#encode(String, boolean)} (an
 * {@link dev.aspo.models.tokenizer.Encoding}: ids, token strings, [start, end) offsets in code
 * points of the input, as Python's {@code tokenizers} reports them) and
 * {@link dev.aspo.models.tokenizer.Tokenizer#decode}; {@link dev.aspo.models.tokenizer.BpeTrainer}
 * trains a byte-level BPE and writes a tokenizer.json that HF loads and encodes identically.
 *
 * <p>Supported tokenizer.json components (anything else fails to load with a
 * {@link dev.aspo.models.tokenizer.TokenizerFormatException} naming the file and the type):
 * <ul>
 *   <li>model: BPE (vocab; merges as "a b" strings or [a, b] pairs; unk_token, fuse_unk,
 *       byte_fallback, ignore_merges, continuing_subword_prefix, end_of_word_suffix; dropout
 *       null or 0)</li>
 *   <li>added_tokens: special or not, with lstrip, rstrip, single_word, normalized</li>
 *   <li>normalizer: Sequence, Prepend, Replace (string or regex), NFC, NFD, NFKC, NFKD,
 *       Lowercase, Strip</li>
 *   <li>pre_tokenizer: ByteLevel (add_prefix_space, use_regex with the GPT-2 regex), Split
 *       (string or regex, all five behaviours, invert), Digits, Metaspace (prepend_scheme
 *       always/first/never, split), Sequence</li>
 *   <li>post_processor: TemplateProcessing (single sequences), ByteLevel (trim_offsets),
 *       Sequence</li>
 *   <li>decoder: ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace, Sequence</li>
 * </ul>
 * Truncation and padding must be null. Regexes (Oniguruma syntax in HF) run on
 * {@code java.util.regex} with Oniguruma's semantics for {@code \s}, {@code \w}, case folding,
 * {@code ^}/{@code $}, {@code .} and {@code \h}; Unicode properties follow the JDK's Unicode
 * version, so characters newer than that may split differently.
 *
 * <p>Parity with HF tokenizers 0.23.2 is tested on committed fixtures made by the scripts in
 * {@code models/src/test/python/}.
 */
package dev.aspo.models.tokenizer;

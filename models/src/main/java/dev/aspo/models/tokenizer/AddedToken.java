package dev.aspo.models.tokenizer;

/**
 * An entry of tokenizer.json's "added_tokens": a string matched in the text before the model
 * runs, so it is never split. {@code special} tokens are skipped by decode when asked;
 * {@code normalized} ones are matched in the normalized text, the others in the raw text;
 * {@code lstrip}/{@code rstrip} swallow the whitespace on that side; {@code singleWord} only
 * matches when not inside a word.
 *
 * @param id the id the tokenizer resolved for it (the model's id if the vocabulary has it)
 */
public record AddedToken(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip,
                         boolean normalized, boolean special) {
}

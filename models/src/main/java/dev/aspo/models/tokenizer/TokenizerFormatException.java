package dev.aspo.models.tokenizer;

/**
 * A {@code tokenizer.json} that cannot be used: malformed JSON, a missing or mistyped field, an
 * inconsistent vocabulary, or a component type this engine does not implement. The message names
 * the file (or source) and the problem in one line.
 */
public final class TokenizerFormatException extends IllegalArgumentException {
    public TokenizerFormatException(String message) {
        super(message);
    }

    public TokenizerFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}

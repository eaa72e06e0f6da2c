package dev.aspo.method.data;

import java.nio.file.Path;
import java.util.List;

/**
 * One line of a JSONL dataset in TRL's format. Preference records have {@code chosen} and
 * {@code rejected}; SFT records have {@code response}; the others are null.
 *
 * @param file     the JSONL file it came from
 * @param line     its 1-based line number there
 * @param images   image paths, resolved against the file's folder (each checked to exist)
 * @param prompt   the prompt text (may be empty)
 * @param chosen   the preferred response, or null
 * @param rejected the dispreferred response, or null
 * @param response the SFT target, or null
 * @param chosenLabels   per sentence of the chosen response its ground truth (1 correct, 0 wrong), from the
 *                       optional field {@code chosen_sentence_labels}, for {@code weights: oracle}; else null
 * @param rejectedLabels the same for the rejected response ({@code rejected_sentence_labels}), or null
 * @param negatives      a caption record's hard negatives (field {@code negatives}): texts that are false of
 *                       its image, e.g. its caption with one attribute changed (NegCLIP); empty otherwise
 */
public record Record(Path file, int line, List<Path> images, String prompt, String chosen, String rejected,
                     String response, double[] chosenLabels, double[] rejectedLabels, List<String> negatives) {

    public Record {
        images = List.copyOf(images);
        negatives = negatives == null ? List.of() : List.copyOf(negatives);
    }

    /** A record without sentence labels. */
    public Record(Path file, int line, List<Path> images, String prompt, String chosen, String rejected, String response) {
        this(file, line, images, prompt, chosen, rejected, response, null, null, List.of());
    }

    /** A record without hard negatives. */
    public Record(Path file, int line, List<Path> images, String prompt, String chosen, String rejected, String response,
                  double[] chosenLabels, double[] rejectedLabels) {
        this(file, line, images, prompt, chosen, rejected, response, chosenLabels, rejectedLabels, List.of());
    }

    /** {@code file:line}, for error messages. */
    public String where() {
        return file + ":" + line;
    }
}

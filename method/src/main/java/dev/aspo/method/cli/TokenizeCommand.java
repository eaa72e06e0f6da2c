package dev.aspo.method.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.tokenizer.Encoding;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code aspo tokenize}: token ids and code-point offsets as JSON, one object per text, exactly
 * as Python's {@code tokenizers} reports {@code encoding.ids} and {@code encoding.offsets}.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print token ids and offsets (code points) as JSON: {\"ids\": [...], \"offsets\": [[start, end], ...]}.")
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--tokenizer", required = true, paramLabel = "FILE", description = "a Hugging Face tokenizer.json")
    Path tokenizer;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", paramLabel = "TEXT", description = "one text; prints one JSON object")
        String text;

        @Option(names = "--jsonl", paramLabel = "FILE", description = "one JSON string a line; prints one JSON object a line, in order")
        Path jsonl;
    }

    @Option(names = "--no-special-tokens", description = "do not add the post-processor's special tokens (BOS, ...)")
    boolean noSpecial;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws IOException {
        Tokenizer tok = Tokenizer.fromFile(tokenizer);
        PrintWriter out = spec.commandLine().getOut();
        if (input.text != null) {
            out.println(encode(tok, input.text));
        } else {
            try (BufferedReader r = Files.newBufferedReader(input.jsonl, StandardCharsets.UTF_8)) {
                String line;
                int lineNo = 0;
                while ((line = r.readLine()) != null) {
                    lineNo++;
                    JsonNode node;
                    try {
                        node = JSON.readTree(line);
                    } catch (IOException e) {
                        throw new IllegalArgumentException(input.jsonl + ":" + lineNo + ": not valid JSON");
                    }
                    if (node == null || !node.isTextual()) {
                        throw new IllegalArgumentException(input.jsonl + ":" + lineNo + ": expected a JSON string");
                    }
                    out.println(encode(tok, node.textValue()));
                }
            }
        }
        out.flush();
        return 0;
    }

    private String encode(Tokenizer tok, String text) throws IOException {
        Encoding e = tok.encode(text, !noSpecial);
        ObjectNode o = JSON.createObjectNode();
        ArrayNode ids = o.putArray("ids");
        for (int id : e.ids()) ids.add(id);
        ArrayNode offsets = o.putArray("offsets");
        for (int i = 0; i < e.size(); i++) offsets.addArray().add(e.start(i)).add(e.end(i));
        return JSON.writeValueAsString(o);
    }
}

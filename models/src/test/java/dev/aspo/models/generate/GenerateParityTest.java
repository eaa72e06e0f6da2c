package dev.aspo.models.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.aspo.models.llama.Fixtures;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Greedy decoding against transformers' {@code generate(do_sample=False, max_new_tokens=8)} on the
 * {@code right_padding} fixture model: one prompt, and a left-padded batch of two in which row 0
 * stops at its EOS (transformers then pads it; we return the tokens up to the EOS).
 */
class GenerateParityTest {
    @Test
    void greedyTokensEqualTransformersGenerate() throws Exception {
        LlamaForCausalLM model = LlamaForCausalLM.load(Fixtures.dir("right_padding"));
        try (SafeTensorsFile f = Fixtures.expected("right_padding")) {
            int n = Fixtures.ints(f, "gen.max_new_tokens")[0];

            int[] prompt = Fixtures.ints(f, "gen.single.input_ids");
            int[] hf = Fixtures.ints(f, "gen.single.output_ids");
            Generator noEos = new Generator(model, Sampler.greedy(), n, new int[0], 0);
            int[] ours = noEos.generate(List.of(prompt)).get(0);
            assertArrayEquals(Arrays.copyOfRange(hf, prompt.length, hf.length), ours, "single prompt");

            int[] shape = f.info("gen.batch.input_ids").shape();
            int b = shape[0], p = shape[1];
            int[] ids = Fixtures.ints(f, "gen.batch.input_ids");
            float[] mask = Fixtures.mask(f, "gen.batch.attention_mask");
            int[] out = Fixtures.ints(f, "gen.batch.output_ids");
            int eos = Fixtures.ints(f, "gen.batch.eos_token_id")[0];
            List<int[]> prompts = new ArrayList<>();
            for (int r = 0; r < b; r++) {
                int first = 0;
                while (mask[r * p + first] == 0) first++;
                prompts.add(Arrays.copyOfRange(ids, r * p + first, (r + 1) * p));
            }
            List<int[]> got = new Generator(model, Sampler.greedy(), n, new int[] {eos}, 0).generate(prompts);
            int width = out.length / b;
            for (int r = 0; r < b; r++) {
                int[] expected = Arrays.copyOfRange(out, r * width + p, (r + 1) * width);
                int stop = expected.length;
                for (int i = 0; i < expected.length; i++) {
                    if (expected[i] == eos) {
                        stop = i + 1;
                        break;
                    }
                }
                assertArrayEquals(Arrays.copyOf(expected, stop), got.get(r), "batch row " + r);
            }
            assertEquals(true, got.get(0).length < n, "row 0 stopped at its EOS");
        }
    }
}

package dev.aspo.method.cli;

import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.clip.ClipVisionModel;
import dev.aspo.models.clip.ClipVisionOutput;
import dev.aspo.models.hf.AutoModel;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code aspo forward}: a model's raw outputs for the inputs in a safetensors file (see
 * {@link ModelInputs}), written as a safetensors file, for parity checks with other frameworks:
 *
 * <pre>
 *   llava, llama        logits [B, T, V]
 *   clip                text_embeds [B, P] (when input_ids are given) and/or image_embeds [N, P]
 *                       (when pixel_values are): projected and L2-normalised, as CLIPModel returns them
 *   clip_vision_model   last_hidden_state [N, 1+patches, C] and pooler_output [N, C]
 * </pre>
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Run a model (llava, llama, clip, clip_vision_model) on the inputs in a safetensors file "
                + "(input_ids, attention_mask, pixel_values) and write its outputs (logits; or text_embeds/image_embeds; "
                + "or last_hidden_state/pooler_output) to a safetensors file.")
final class ForwardCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "a Hugging Face model directory (config.json + model.safetensors)")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "IN", description = "safetensors with input_ids [B,T] (I64), optional attention_mask [B,T] (I64) and pixel_values [N,3,H,W] (F32)")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "OUT", description = "the safetensors file to write")
    Path out;

    @Mixin
    DeviceOption device;

    @Mixin
    DtypeOption dtype;

    @Override
    public Integer call() throws IOException {
        device.select();
        Precision weights = dtype.precision();
        ModelInputs in = ModelInputs.read(input);
        Module m = AutoModel.load(model, weights);
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (var g = Autograd.noGrad()) {
            forward(m, in, w);
        }
        write(w, out);
        return 0;
    }

    static void forward(Module m, ModelInputs in, SafeTensorsWriter w) {
        String type = AutoModel.modelType(m);
        if (m instanceof LlavaForConditionalGeneration llava) {
            w.put("logits", llava.forward(in.requireIds(type), in.batch, in.seq, in.maskFloats(), in.pixelValues));
        } else if (m instanceof LlamaForCausalLM llama) {
            noPixels(in, type);
            w.put("logits", llama.forward(in.requireIds(type), in.batch, in.seq, in.maskFloats()));
        } else if (m instanceof ClipModel clip) {
            if (in.inputIds == null && in.pixelValues == null) {
                throw new IllegalArgumentException(in.file + ": neither input_ids nor pixel_values (a clip model embeds either or both)");
            }
            if (in.inputIds != null) w.put("text_embeds", clip.textEmbeds(in.inputIds, in.batch, in.seq, in.attentionMask));
            if (in.pixelValues != null) w.put("image_embeds", clip.imageEmbeds(in.pixelValues));
        } else if (m instanceof ClipVisionModel vision) {
            if (in.inputIds != null) {
                throw new IllegalArgumentException(in.file + ": input_ids given, but a clip_vision_model takes only pixel_values");
            }
            ClipVisionOutput o = vision.forward(in.requirePixels(type));
            w.put("last_hidden_state", o.lastHiddenState());
            w.put("pooler_output", o.poolerOutput());
        } else {
            throw new IllegalArgumentException("forward does not support " + type);
        }
    }

    static void noPixels(ModelInputs in, String type) {
        if (in.pixelValues != null) {
            throw new IllegalArgumentException(in.file + ": pixel_values given, but a " + type + " model takes no images");
        }
    }

    /** Writes {@code w} to {@code file} (atomically), creating missing parent directories. */
    static void write(SafeTensorsWriter w, Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        w.metadata("format", "pt");
        w.write(file);
    }
}

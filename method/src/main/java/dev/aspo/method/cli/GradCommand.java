package dev.aspo.method.cli;

import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.hf.AutoModel;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code aspo grad}: a model's loss and the gradient of every parameter for the inputs in a
 * safetensors file (see {@link ModelInputs}). The output holds {@code loss} (F32 [1]) and one
 * tensor per parameter, under the name the model's {@code save_pretrained} writes it with
 * (zeros for a parameter the loss does not reach, where torch leaves {@code .grad} as None).
 *
 * <pre>
 *   llava, llama   transformers' causal-LM loss: labels (-100 ignored) shifted by one position,
 *                  mean cross-entropy over the kept ones
 *   clip           the contrastive loss of CLIPModel(return_loss=True): input_ids [B,T] and
 *                  pixel_values [B,...] are B matching pairs; labels are not used
 * </pre>
 */
@Command(name = "grad", mixinStandardHelpOptions = true,
        description = "Compute a model's loss (llava, llama: causal-LM loss of labels; clip: contrastive loss) and the "
                + "gradient of every parameter, written under the parameters' Hugging Face names to a safetensors file.")
final class GradCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "a Hugging Face model directory (config.json + model.safetensors)")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "IN", description = "safetensors with input_ids [B,T], labels [B,T] (I64, -100 ignored), optional attention_mask [B,T] and pixel_values [N,3,H,W]")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "OUT", description = "the safetensors file to write: loss and one gradient per parameter")
    Path out;

    @Mixin
    DeviceOption device;

    @Mixin
    DtypeOption dtype;

    @Override
    public Integer call() throws IOException {
        device.select();
        if (dtype.precision() != Precision.FLOAT32) {
            throw new IllegalArgumentException("--dtype " + dtype.dtype + ": grad writes the gradient of every parameter, and a"
                    + " weight held in " + dtype.dtype + " is frozen (it has none); run grad with --dtype float32");
        }
        ModelInputs in = ModelInputs.read(input);
        Module m = AutoModel.load(model);
        Tensor loss = loss(m, in);
        loss.backward();
        SafeTensorsWriter w = new SafeTensorsWriter().put("loss", new float[] {loss.item()}, 1);
        for (var e : m.namedParameters().entrySet()) {
            Tensor p = e.getValue();
            w.put(e.getKey(), p.grad() != null ? p.grad() : Tensor.zeros(p.shape()));
        }
        ForwardCommand.write(w, out);
        return 0;
    }

    static Tensor loss(Module m, ModelInputs in) {
        String type = AutoModel.modelType(m);
        if (m instanceof LlavaForConditionalGeneration llava) {
            return llava.loss(in.requireIds(type), in.batch, in.seq, in.maskFloats(), in.pixelValues, in.requireLabels(type));
        }
        if (m instanceof LlamaForCausalLM llama) {
            ForwardCommand.noPixels(in, type);
            return LlamaForCausalLM.causalLmLoss(llama.forward(in.requireIds(type), in.batch, in.seq, in.maskFloats()),
                    in.requireLabels(type));
        }
        if (m instanceof ClipModel clip) {
            int[] ids = in.requireIds("the clip contrastive loss");
            Tensor px = in.requirePixels("the clip contrastive loss");
            if (px.size(0) != in.batch) {
                throw new IllegalArgumentException(in.file + ": the clip contrastive loss pairs text i with image i, but input_ids hold "
                        + in.batch + " texts and pixel_values " + px.size(0) + " images");
            }
            return clip.forward(ids, in.batch, in.seq, in.attentionMask, px, true).loss();
        }
        throw new IllegalArgumentException("grad supports llava, llama and clip models; " + type + " has no loss");
    }
}

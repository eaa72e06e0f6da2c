/**
 * Image input for the vision towers: {@link dev.aspo.models.image.RgbImage} (PNG/JPEG to RGB bytes
 * as PIL's {@code convert("RGB")}), {@link dev.aspo.models.image.PillowResample} (Pillow's
 * resampling, bit-exact) and {@link dev.aspo.models.image.ClipImageProcessor} (transformers'
 * {@code CLIPImageProcessor} from a {@code preprocessor_config.json}).
 */
package dev.aspo.models.image;

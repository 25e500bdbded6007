// `model`: which architecture presets (configs/model/<name>.yaml) and which weight files.
import * as v from "valibot";

const weightFile = v.pipe(v.nullable(v.string()), v.description("a weights file path (.safetensors, .pt, .pth), or null when the method does not use this model"));

export const ModelSchema = v.strictObject({
  task: v.string(),
  vae: v.string(),
  generative: v.string(),
  weights: v.strictObject({ task: weightFile, vae: weightFile, generative: weightFile }),
});

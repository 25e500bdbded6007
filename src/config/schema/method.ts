// `method`: the adaptation method and every knob of DESIGN §2 (selection, time, loss, what is adapted, optimizer).
import * as v from "valibot";
import { nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber, unitInterval } from "./common.ts";

export const METHODS = ["source", "tent", "dusa"] as const;
export const ADAPT_TASK = ["all", "norm", "lora", "none"] as const;
export const OPTIMIZERS = ["adam", "adamw", "sgd"] as const;

const beta = v.pipe(v.number(), v.minValue(0), v.ltValue(1));

export const MethodSchema = v.strictObject({
  name: v.picklist(METHODS),
  family: v.nullable(v.picklist(["sit", "dit"])),
  topk: positiveInt,
  rand_budget: nonNegativeInt,
  temperature: positiveNumber,
  t: v.nullable(nonNegativeNumber),
  loss: v.strictObject({ mse: nonNegativeNumber, norm_l2: nonNegativeNumber, cosine: nonNegativeNumber }),
  accumulate: positiveInt,
  lr: positiveNumber,
  aux_lr: v.nullable(positiveNumber),
  adapt: v.strictObject({ task: v.picklist(ADAPT_TASK), aux: v.boolean() }),
  lora: v.strictObject({ rank: positiveInt, alpha: positiveNumber, patterns: v.pipe(v.array(v.string()), v.minLength(1)) }),
  optimizer: v.strictObject({
    name: v.picklist(OPTIMIZERS),
    betas: v.tuple([beta, beta]),
    eps: positiveNumber,
    weight_decay: nonNegativeNumber,
    momentum: beta,
    dampening: unitInterval,
    nesterov: v.boolean(),
  }),
  grad_clip: v.nullable(positiveNumber),
});

// `data`: which benchmark, which (corruption, severity) tasks, how images are batched and transformed.
import * as v from "valibot";
import { ALL_CORRUPTIONS } from "../../data/corruptions/names.ts";
import { noDuplicates, nonNegativeInt, positiveInt, positiveNumber } from "./common.ts";

export const DATASETS = ["fmnist-c", "cifar-c", "imagenet-c", "folder"] as const;

const severity = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5));
const size = v.nullable(positiveInt);

const TaskTransformSchema = v.strictObject({
  resize: size,
  interpolation: v.picklist(["bilinear", "bicubic"]),
  center_crop: size,
  pad: size,
  channels: v.picklist([1, 3]),
  mean: v.pipe(v.array(v.number()), v.minLength(1)),
  std: v.pipe(v.array(positiveNumber), v.minLength(1)),
});

export const DataSchema = v.strictObject({
  dataset: v.picklist(DATASETS),
  root: v.nullable(v.string()),
  corruptions: v.pipe(v.array(v.picklist(ALL_CORRUPTIONS)), v.minLength(1), noDuplicates("a corruption")),
  severities: v.pipe(v.array(severity), v.minLength(1), noDuplicates("a severity")),
  limit: v.nullable(positiveInt),
  batch_size: positiveInt,
  shuffle: v.boolean(),
  workers: nonNegativeInt,
  prefetch: positiveInt,
  skip_bad: v.boolean(),
  generate: v.strictObject({ seed: nonNegativeInt, frost_dir: v.nullable(v.string()) }),
  task_transform: TaskTransformSchema,
  aux_transform: v.strictObject({ size: positiveInt }),
});

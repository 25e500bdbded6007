// The whole configuration: top-level run settings plus the model, data and method sections.
import * as v from "valibot";
import { nonNegativeInt, positiveInt } from "./common.ts";
import { DataSchema } from "./data.ts";
import { MethodSchema } from "./method.ts";
import { ModelSchema } from "./model.ts";

export const MODES = ["episodic", "continual"] as const;
export const DEVICES = ["auto", "cpu", "cuda"] as const;
export const STORAGES = ["f32", "bf16"] as const;
export const GRAPHS = ["off", "auto", "on"] as const;

export const ConfigSchema = v.strictObject({
  name: v.nullable(v.pipe(v.string(), v.regex(/^[\w.-]+$/), v.description("a run name of letters, digits, '_', '.', '-'"))),
  seed: nonNegativeInt,
  device: v.picklist(DEVICES),
  threads: nonNegativeInt,
  storage: v.picklist(STORAGES),
  graph: v.picklist(GRAPHS),
  mode: v.picklist(MODES),
  shard: v.nullable(v.pipe(v.string(), v.regex(/^\d+\/\d+$/), v.description('"i/n" with 0 <= i < n (0-based shard i of n)'))),
  resume: v.nullable(v.string()),
  output_dir: v.string(),
  fast_dev_run: v.boolean(),
  max_bad_steps: positiveInt,
  explain: nonNegativeInt,
  model: ModelSchema,
  data: DataSchema,
  method: MethodSchema,
});

/** The configuration as validated, before derived values are filled in. */
export type RawConfig = v.InferOutput<typeof ConfigSchema>;
type RawMethod = RawConfig["method"];

/**
 * The resolved configuration: validated, cross-checked against the model presets, and with every derived value
 * filled in (name, method.family, method.t, method.aux_lr are never null here).
 */
export type Config = Omit<RawConfig, "name" | "method"> & {
  name: string;
  method: Omit<RawMethod, "family" | "t" | "aux_lr"> & { family: "sit" | "dit"; t: number; aux_lr: number };
};

export type DataConfig = Config["data"];
export type MethodConfig = Config["method"];
export type ModelConfig = Config["model"];

export { DATASETS } from "./data.ts";
export { ADAPT_TASK, METHODS, OPTIMIZERS } from "./method.ts";

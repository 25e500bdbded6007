// Checks that need more than one key or the model presets, and the derived values: the run name,
// method.family (from model.generative), method.t (0.25 for sit, 100 for dit) and method.aux_lr (= lr).
import { loadPreset, presetNames, type ModelPreset } from "../models/presets.ts";
import { ConfigError, type ConfigIssue } from "./config-error.ts";
import type { Config, RawConfig } from "./schema/index.ts";
import { parseShard } from "./shard.ts";
import { sourceOf, type Provenance } from "./tree.ts";

export const DEFAULT_FLOW_TIME = 0.25; // same SNR as DDPM step 100 (DESIGN §2.1)
export const DEFAULT_DDPM_STEP = 100;
const DDPM_STEPS = 1000;

type Family = ModelPreset["family"];
type Role = "task" | "vae" | "generative";
const ROLE_FAMILIES: Record<Role, Family[]> = { task: ["convnext"], vae: ["vae"], generative: ["sit", "dit"] };

function presetsOf(families: Family[]): string[] {
  return presetNames().filter((name) => {
    try {
      return families.includes(loadPreset(name).family);
    } catch {
      return false;
    }
  });
}

/** The default run name: "<experiment>-<method>", or just the experiment when its name already says the method. */
export function defaultRunName(experiment: string | undefined, method: string): string {
  if (!experiment) return method;
  return experiment.split(/[-_]/).includes(method) ? experiment : `${experiment}-${method}`;
}

export function resolveConfig(raw: RawConfig, context: { experiment?: string; provenance?: Provenance } = {}): Config {
  const provenance = context.provenance ?? new Map();
  const issues: ConfigIssue[] = [];
  const issue = (path: string, problem: string, allowed?: string) => issues.push({ path, problem, allowed, source: sourceOf(provenance, path) });
  const { model, data, method } = raw;

  const preset = (role: Role): ModelPreset | undefined => {
    const name = model[role], allowed = () => `one of ${presetsOf(ROLE_FAMILIES[role]).join(", ")} (configs/model/*.yaml)`;
    let p: ModelPreset;
    try {
      p = loadPreset(name);
    } catch (e) {
      issue(`model.${role}`, presetNames().includes(name) ? (e as Error).message : `no model preset ${JSON.stringify(name)}`, allowed());
      return undefined;
    }
    if (!ROLE_FAMILIES[role].includes(p.family)) return void issue(`model.${role}`, `${name} is a ${p.family} model`, allowed());
    return p;
  };
  const task = preset("task"), vae = preset("vae"), gen = preset("generative");
  const dusa = method.name === "dusa";

  let family = method.family ?? (gen?.family === "dit" ? "dit" : "sit");
  if (gen && gen.family !== "convnext" && gen.family !== "vae" && method.family && method.family !== gen.family) {
    issue("method.family", `${method.family} does not match model.generative ${model.generative} (a ${gen.family} model)`, `${gen.family}, or null to follow model.generative`);
    family = gen.family;
  }
  const t = method.t ?? (family === "dit" ? DEFAULT_DDPM_STEP : DEFAULT_FLOW_TIME);
  if (family === "sit" && t > 1) issue("method.t", `${t} is out of range for a flow model`, "a flow time from 0 to 1 (REPA convention: 0 = data, 1 = noise), or null for 0.25");
  if (family === "dit" && (!Number.isInteger(t) || t >= DDPM_STEPS)) issue("method.t", `${t} is out of range for a diffusion model`, `an integer DDPM step from 0 to ${DDPM_STEPS - 1}, or null for 100`);

  if (task?.family === "convnext") {
    const tt = data.task_transform;
    if (tt.channels !== task.config.inChans) issue("data.task_transform.channels", `${tt.channels} does not match model.task ${model.task} (${task.config.inChans} input channels)`, String(task.config.inChans));
    for (const key of ["mean", "std"] as const) {
      if (tt[key].length !== 1 && tt[key].length !== tt.channels) issue(`data.task_transform.${key}`, `${tt[key].length} values for ${tt.channels} channels`, `a list of 1 or ${tt.channels} numbers`);
    }
    if (dusa && method.topk + method.rand_budget > task.config.numClasses) {
      issue("method.topk", `topk ${method.topk} + rand_budget ${method.rand_budget} exceeds the ${task.config.numClasses} classes of model.task ${model.task}`, `topk + rand_budget <= ${task.config.numClasses}`);
    }
    if (dusa && (gen?.family === "sit" || gen?.family === "dit") && gen.config.numClasses !== task.config.numClasses) {
      issue("model.generative", `${model.generative} has ${gen.config.numClasses} classes, model.task ${model.task} has ${task.config.numClasses}`, "a generative preset with the task model's classes");
    }
  }
  if (dusa && vae?.family === "vae") {
    const factor = 2 ** (vae.config.blockOut.length - 1), latent = vae.imageSize / factor;
    if (data.aux_transform.size !== vae.imageSize) issue("data.aux_transform.size", `${data.aux_transform.size} does not match model.vae ${model.vae} (input ${vae.imageSize})`, String(vae.imageSize));
    if ((gen?.family === "sit" || gen?.family === "dit") && (gen.config.inChannels !== vae.config.latentChannels || gen.config.inputSize !== latent)) {
      issue("model.vae", `${model.vae} makes ${vae.config.latentChannels}x${latent}x${latent} latents, model.generative ${model.generative} takes ${gen.config.inChannels}x${gen.config.inputSize}x${gen.config.inputSize}`, "a VAE and generative preset that fit together");
    }
  }
  if (dusa && method.loss.mse + method.loss.norm_l2 + method.loss.cosine === 0) issue("method.loss", "every loss term has weight 0", "at least one of mse, norm_l2, cosine > 0");

  if (raw.explain > 0 && !dusa) issue("explain", `${raw.explain} images asked for, but explain shows the generative prior of method dusa, not ${method.name}`, "0, or method=dusa");

  const needed: Role[] = dusa ? ["task", "vae", "generative"] : method.name === "tent" || method.name === "source" ? ["task"] : [];
  for (const role of needed) if (model.weights[role] === null) issue(`model.weights.${role}`, `is null, but method ${method.name} needs the ${role} model's weights`, "a weights file path");

  if (data.dataset !== "fmnist-c" && data.root === null) issue("data.root", `is null, but dataset ${data.dataset} is read from a folder`, "the benchmark's folder");
  if (raw.shard !== null) {
    try {
      parseShard(raw.shard);
    } catch (e) {
      issues.push({ ...(e as ConfigError).issues[0], source: sourceOf(provenance, "shard") });
    }
    if (raw.mode === "continual") issue("shard", "continual runs carry the model from task to task and cannot be split", "null, or mode=episodic");
  }

  if (issues.length) throw new ConfigError(issues);
  return {
    ...raw,
    name: raw.name ?? defaultRunName(context.experiment, method.name),
    method: { ...method, family, t, aux_lr: method.aux_lr ?? method.lr },
  };
}

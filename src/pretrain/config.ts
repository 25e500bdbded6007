// What each pretraining run trains and how: the model preset, the schedule, the optimizer and the model-specific
// settings. The defaults are sized so that each run fits about 45 minutes on the project's 2-core VM (measured
// throughput and expected durations: weights/README.md). The whole config is stored in every checkpoint and in the
// metadata of the weights it produces.
export const MODEL_NAMES = ["classifier", "vae", "sit"] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const isModelName = (s: string): s is ModelName => (MODEL_NAMES as readonly string[]).includes(s);

export type PretrainConfig = {
  model: ModelName;
  preset: string; // configs/model/<preset>.yaml
  epochs: number;
  batch: number;
  lr: number; // peak learning rate after warmup
  minLr: number; // the end of the cosine
  warmup: number; // steps of linear warmup (at most a tenth of the run)
  weightDecay: number; // AdamW, decoupled, applied to every trained parameter
  betas: [number, number];
  seed: number;
  limit: number | null; // train on the first N training images (quick runs), null = all 60,000
  evalLimit: number | null; // evaluate on the first N test images, null = all (the SiT classifier: sit.classifyImages)
  storeDtype: "F16" | "F32"; // the weights file (checkpoints are always F32)
  classifier: {
    maxShift: number; // random shifts of ±maxShift pixels with zero (black) fill
    flip: boolean; // horizontal flips of the classes whose images face both ways (never footwear)
  };
  vae: {
    klWeight: number; // β: loss = mean pixel MSE + β · (KL summed over latent elements) / (pixels per image)
  };
  sit: {
    emaDecay: number;
    labelDropout: number; // probability of training a sample as the null class (classifier-free guidance)
    latentNoise: boolean; // train on posterior samples (REPA) instead of posterior means (what DUSA encodes)
    sampleSteps: number; // Euler steps of the sampler
    cfgScale: number; // classifier-free guidance of the samples (1 = none)
    samplesPerClass: number; // generated per class for the sample accuracy; the PNG shows up to 10 of them
    classifyImages: number; // test images scored by the SiT-as-classifier evaluation
    classifyTimes: number[]; // t at which the flow loss of every class is measured (their mean decides)
    vaeSha256: string | null; // the VAE whose latents it trains on (filled in by the SiT pipeline; resume checks it)
  };
};

const base = {
  betas: [0.9, 0.999] as [number, number],
  seed: 0,
  limit: null,
  evalLimit: null,
  storeDtype: "F16" as const,
  classifier: { maxShift: 2, flip: true },
  vae: { klWeight: 1e-6 },
  sit: {
    emaDecay: 0.999, labelDropout: 0.1, latentNoise: false, sampleSteps: 32, cfgScale: 1.5, samplesPerClass: 20,
    classifyImages: 1000, classifyTimes: [0.1, 0.25, 0.5, 0.75], vaeSha256: null,
  },
};

export const DEFAULTS: Record<ModelName, PretrainConfig> = {
  classifier: { model: "classifier", preset: "convnext-tiny-fm", epochs: 24, batch: 128, lr: 2e-3, minLr: 1e-5, warmup: 300, weightDecay: 0.05, ...base },
  vae: { model: "vae", preset: "vae-tiny-fm", epochs: 2, batch: 64, lr: 1e-3, minLr: 1e-5, warmup: 200, weightDecay: 0, ...base },
  sit: { model: "sit", preset: "sit-tiny-fm", epochs: 10, batch: 128, lr: 1e-3, minLr: 1e-5, warmup: 500, weightDecay: 0, ...base },
};

export type ConfigOverrides = Partial<Pick<PretrainConfig, "epochs" | "batch" | "lr" | "seed" | "limit" | "evalLimit">>;

export function pretrainConfig(model: ModelName, overrides: ConfigOverrides = {}): PretrainConfig {
  const defaults = DEFAULTS[model];
  const config: PretrainConfig = structuredClone(defaults);
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) (config as Record<string, unknown>)[key] = value;
  checkConfig(config);
  return config;
}

export function checkConfig(c: PretrainConfig): void {
  const positiveInt = (key: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`pretrain ${c.model}: ${key} must be a positive integer, got ${v}`);
  };
  positiveInt("epochs", c.epochs);
  positiveInt("batch", c.batch);
  if (c.limit !== null) positiveInt("limit", c.limit);
  if (c.evalLimit !== null) positiveInt("evalLimit", c.evalLimit);
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) throw new Error(`pretrain ${c.model}: seed must be a non-negative integer, got ${c.seed}`);
  if (!(c.lr > 0)) throw new Error(`pretrain ${c.model}: lr must be > 0, got ${c.lr}`);
  if (!(c.minLr >= 0 && c.minLr <= c.lr)) throw new Error(`pretrain ${c.model}: minLr must be in [0, lr], got ${c.minLr}`);
  if (c.limit !== null && c.limit < c.batch) throw new Error(`pretrain ${c.model}: limit ${c.limit} is smaller than one batch (${c.batch}); lower --batch`);
  if (!(c.sit.labelDropout >= 0 && c.sit.labelDropout < 1)) throw new Error(`pretrain ${c.model}: sit.labelDropout must be in [0, 1)`);
  if (!(c.sit.emaDecay >= 0 && c.sit.emaDecay < 1)) throw new Error(`pretrain ${c.model}: sit.emaDecay must be in [0, 1)`);
}

/** The settings a resumed run must share with its checkpoint (everything that changes the trained weights). */
export function trainingKeys(c: PretrainConfig): Record<string, unknown> {
  const { evalLimit: _e, storeDtype: _d, ...rest } = c;
  const { sampleSteps: _s, cfgScale: _g, samplesPerClass: _n, classifyImages: _i, classifyTimes: _t, ...sit } = c.sit;
  return { ...rest, sit };
}

/** The config as reported beside the weights: without the other models' sections. */
export function reportedConfig(c: PretrainConfig): Partial<PretrainConfig> {
  const out: Partial<PretrainConfig> = { ...c };
  for (const m of MODEL_NAMES) if (m !== c.model) delete out[m];
  return out;
}

/** A reported training config completed to a full one, with the evaluation settings of this run (eval-only runs
 * report what made the weights and evaluate as asked now). */
export function withEvalSettings(saved: Partial<PretrainConfig>, current: PretrainConfig): PretrainConfig {
  const { sampleSteps, cfgScale, samplesPerClass, classifyImages, classifyTimes } = current.sit;
  const full = { ...current, ...saved, evalLimit: current.evalLimit } as PretrainConfig;
  return { ...full, sit: { ...full.sit, sampleSteps, cfgScale, samplesPerClass, classifyImages, classifyTimes } };
}

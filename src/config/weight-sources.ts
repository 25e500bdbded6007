// Where the weights of each model preset come from, for the message when a weights file is missing.
export const WEIGHT_SOURCES: Record<string, string> = {
  "convnext-tiny-fm": "make it with: bun run pretrain classifier",
  "vae-tiny-fm": "make it with: bun run pretrain vae",
  "sit-tiny-fm": "make it with: bun run pretrain sit",
  "convnext-large":
    "download timm convnext_large.fb_in1k (https://huggingface.co/timm/convnext_large.fb_in1k, model.safetensors); not timm's default convnext_large tag, which is the in22k fine-tune",
  "sit-xl-2": "download REPA's SiT-XL/2 checkpoint last.pt (https://github.com/sihyun-yu/REPA, README: pretrained models)",
  "dit-xl-2": "download DiT-XL-2-256x256.pt (https://dl.fbaipublicfiles.com/DiT/models/DiT-XL-2-256x256.pt)",
  "sd-vae": "download stabilityai/sd-vae-ft-ema (https://huggingface.co/stabilityai/sd-vae-ft-ema, diffusion_pytorch_model.safetensors)",
};

export const weightSource = (preset: string): string => WEIGHT_SOURCES[preset] ?? "point the key at the preset's weights file";

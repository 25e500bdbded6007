"""Plain-PyTorch reference models with the exact public parameter names (timm ConvNeXt, REPA SiT /
facebookresearch DiT, diffusers AutoencoderKL). Used only by test/golden/make_models.py to write fixtures."""

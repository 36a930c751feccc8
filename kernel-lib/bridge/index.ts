/** Bring your own gradients: read scripts/torch_probe.py and scripts/torch_less.py output and hand it to PRISM / G2IS; write gradlab LoRA checkpoints for PyTorch. */
export * from "./read";
export * from "./convert";
export * from "./less";
export * from "./shards";
export * from "./peft-checkpoint";

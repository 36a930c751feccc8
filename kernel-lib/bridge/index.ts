/** Bring your own gradients: read scripts/torch_probe.py output and hand it to PRISM / G2IS. */
export * from "./read";
export * from "./convert";
export * from "./less";

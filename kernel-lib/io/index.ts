/**
 * io: validated readers and writers for the files researchers bring from PyTorch runs —
 * .npy / .npz (numpy), safetensors, JSON Lines — plus atomic writes and tensor bridges.
 * Every malformed, truncated or missing file raises FileFormatError naming the file and problem;
 * every writer goes through atomicWriteFile, so no half-written file is ever left behind.
 */
export { atomicWriteFile, readFileOrThrow } from "./atomic";
export {
  type DType, type ArrayData, type NdArray, type ArrayInput, type ReadOptions, DTYPES, ITEM_SIZE,
  float16BitsToFloat32, bfloat16BitsToFloat32, float32ToFloat16Bits, float32ToBfloat16Bits,
} from "./dtypes";
export { type NpyArray, type NpyWriteOptions, NPY_DTYPES, parseNpy, readNpy, encodeNpy, writeNpy } from "./npy";
export { type NpzWriteOptions, parseNpz, readNpz, encodeNpz, writeNpz } from "./npz";
export { type SafetensorsContent, parseSafetensors, readSafetensors, encodeSafetensors, writeSafetensors } from "./safetensors";
export {
  type MalformedLine, type JsonlReadOptions, type JsonlReadResult, type JsonlStreamOptions,
  parseJsonl, readJsonl, readLines, streamJsonl, serialiseJsonlRecord, writeJsonl, appendJsonl,
} from "./jsonl";
export { type ToTensorOptions, ndArrayToTensor, tensorToNdArray } from "./tensor";

export * from "./sft";

/** Per-example gradients: the facade function, group selection and the two strategies. */
export * from "./per-example";
export { selectGroups, aggregateNorms, describeGroups } from "./groups";
export type { MatrixInfo, AggregatedNorms } from "./groups";
export { chooseProduct } from "./batched";
export type { ProductMethod } from "./batched";
export { loopPerExample } from "./loop";
export { batchedPerExample } from "./batched";

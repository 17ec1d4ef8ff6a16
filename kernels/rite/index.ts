/** LoRA optimizers: LoRA-RITE and Adam behind one interface, on float32 tfjs or float64 arrays. */
import { AdamOptimizer } from "./adam.ts";
import type { Linalg } from "./linalg.ts";
import type { LoraOptimizer, OptimizerName } from "./optimizer.ts";
import { RiteOptimizer, type RiteOptions } from "./rite.ts";

export type { FactorPair, LoraOptimizer, OptimizerName, OptimizerOptions } from "./optimizer.ts";
export type { Linalg } from "./linalg.ts";
export type { RiteOptions } from "./rite.ts";
export { float64, matrix, outer, type Matrix } from "./float64.ts";
export { tfjsLinalg } from "./tfjs.ts";
export { AdamOptimizer, RiteOptimizer };

export const OPTIMIZERS: readonly OptimizerName[] = ["rite", "adam"];

export function createOptimizer<M>(name: OptimizerName, la: Linalg<M>, options: RiteOptions = {}): LoraOptimizer<M> {
  return name === "rite" ? new RiteOptimizer(la, options) : new AdamOptimizer(la, options);
}

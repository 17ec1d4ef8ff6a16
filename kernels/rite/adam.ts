/**
 * Adam with decoupled weight decay (AdamW) on each factor independently: the baseline
 * LoRA-RITE is measured against, and the negative control of its invariance test (Adam's
 * update of Z changes when the factors are rescaled or rotated).
 */
import type { Linalg } from "./linalg.ts";
import type { FactorPair, LoraOptimizer, OptimizerOptions } from "./optimizer.ts";

interface Moments<M> {
  m: M;
  v: M;
}

export class AdamOptimizer<M> implements LoraOptimizer<M> {
  readonly name = "adam" as const;
  private readonly moments: Moments<M>[] = [];
  private t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;

  constructor(
    private readonly la: Linalg<M>,
    options: OptimizerOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
  }

  step(factors: readonly FactorPair<M>[], grads: readonly FactorPair<M>[], learningRate: number): FactorPair<M>[] {
    this.t++;
    const tensors = factors.flatMap((pair, i) => [
      { x: pair.left, g: grads[i]!.left },
      { x: pair.right, g: grads[i]!.right },
    ]);
    const next = tensors.map(({ x, g }, k) => {
      const [rows, cols] = this.la.shape(x);
      const old = (this.moments[k] ??= { m: this.la.zeros(rows, cols), v: this.la.zeros(rows, cols) });
      const result = this.la.scope(
        () => this.update(x, g, old, learningRate),
        ({ x: moved, moments }) => [moved, moments.m, moments.v],
      );
      this.la.free(old.m);
      this.la.free(old.v);
      this.moments[k] = result.moments;
      return result.x;
    });
    return factors.map((_, i) => ({ left: next[2 * i]!, right: next[2 * i + 1]! }));
  }

  dispose(): void {
    for (const { m, v } of this.moments) {
      this.la.free(m);
      this.la.free(v);
    }
    this.moments.length = 0;
  }

  private update(x: M, g: M, old: Moments<M>, learningRate: number): { x: M; moments: Moments<M> } {
    const { la, beta1, beta2, t } = this;
    const m = la.combine(beta1, old.m, 1 - beta1, g);
    const v = la.combine(beta2, old.v, 1 - beta2, la.multiply(g, g));
    // Bias corrections folded into the step size: m̂ / (√v̂ + eps) with eps scaled to match.
    const correction = Math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t);
    const direction = la.divideBySqrt(m, v, this.eps * Math.sqrt(1 - beta2 ** t));
    const moved = la.combine(1 - learningRate * this.weightDecay, x, -learningRate * correction, direction);
    return { x: moved, moments: { m, v } };
  }
}

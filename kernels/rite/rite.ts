/**
 * LoRA-RITE (Yen et al., ICLR 2025; shared/papers/lora-rite.md): an adaptive optimizer whose
 * update of Z = A Bᵀ depends only on ∇Z and the column spaces of A and B, so rescaling or
 * rotating the factors (A R, B R⁻ᵀ) leaves the trajectory of Z unchanged.
 *
 * The step for A (B's is the same with the roles swapped), with B's basis from its polar
 * factor B = U_B R_B, R_B = (BᵀB)^½ (the paper's choice; any orthonormal basis works as long
 * as the basis change P is tracked):
 *   g   = ∇A R_B⁺                       the unmagnified gradient, = ∇Z U_B
 *   P   = U_B,tᵀ U_B,t-1                moves last step's statistics into today's basis
 *   V_t = β2' P V_{t-1} Pᵀ + (1 - β2') gᵀg / m
 *   ρ_t = β2' (ρ_{t-1} + d)             escaped mass: what the basis change lost of V
 *   S   = g (V_t + ρ_t I)^-½            (eigenvalue-wise √λ + eps)
 *   M_t = β1' M_{t-1} Pᵀ + (1 - β1') S
 *   A  ← A - lr (M_t R_B⁺ᵀ + wd A)
 * Cold start: with the usual init one factor is zero, so its R is singular; R⁺ is the
 * pseudo-inverse (eigenvalues under the precision's tolerance count as zero). The zero
 * factor's own update uses the other, full-rank factor's basis, so it moves at step 1;
 * the other factor's gradient (∇Z times the zero factor) is zero until then.
 */
import type { Linalg } from "./linalg.ts";
import type { FactorPair, LoraOptimizer, OptimizerOptions } from "./optimizer.ts";
import { smallCombine, smallMul, smallSpectral, smallTrace, smallTranspose, smallZeros, symmetricEigen, type Small } from "./small.ts";

export interface RiteOptions extends OptimizerOptions {
  /** Clip the unmagnified gradient to this Frobenius norm (the reference code's 1); 0 turns it off. */
  clipNorm?: number;
  /** Skip a factor's move when the RMS of its preconditioned step M_t exceeds this (reference: 1); 0 turns it off. */
  skipRms?: number;
  /** Track the escaped mass ρ (the paper's algorithm; the reference code has it off). */
  escapedMass?: boolean;
}

/** State of one factor's update: its moments live in the other factor's basis. */
interface SideState<M> {
  v: Small;
  m: M;
  /** The other factor's orthonormal basis at the previous step (zeros before the first). */
  basis: M;
  rho: number;
}

/** β' = β (1 - β^(t-1)) / (1 - β^t): the bias-corrected decay, 0 at the first step. */
export function biasCorrectedDecay(beta: number, t: number): number {
  return (beta * (1 - beta ** (t - 1))) / (1 - beta ** t);
}

/** (XᵀX)^½ and its pseudo-inverse for a factor X: R and R⁺ of its polar decomposition. */
function polarRoot<M>(la: Linalg<M>, x: M): { rootInverse: Small } {
  const eigen = symmetricEigen(la.cross(x, x));
  const cutoff = Math.max(eigen.values[0]!, 0) * la.rankTolerance;
  return { rootInverse: smallSpectral(eigen, (lambda) => (lambda > cutoff && lambda > 0 ? 1 / Math.sqrt(lambda) : 0)) };
}

export class RiteOptimizer<M> implements LoraOptimizer<M> {
  readonly name = "rite" as const;
  private readonly states: { left: SideState<M>; right: SideState<M> }[] = [];
  private t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private readonly clipNorm: number;
  private readonly skipRms: number;
  private readonly escapedMass: boolean;

  constructor(
    private readonly la: Linalg<M>,
    options: RiteOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-6;
    this.weightDecay = options.weightDecay ?? 0;
    this.clipNorm = options.clipNorm ?? 1;
    this.skipRms = options.skipRms ?? 1;
    this.escapedMass = options.escapedMass ?? true;
  }

  step(factors: readonly FactorPair<M>[], grads: readonly FactorPair<M>[], learningRate: number): FactorPair<M>[] {
    this.t++;
    return factors.map((pair, i) => {
      const grad = grads[i]!;
      const state = (this.states[i] ??= { left: this.initial(pair.left, pair.right), right: this.initial(pair.right, pair.left) });
      const old = [state.left, state.right];
      const result = this.la.scope(
        () => {
          const left = this.side(pair.left, grad.left, pair.right, state.left, learningRate);
          const right = this.side(pair.right, grad.right, pair.left, state.right, learningRate);
          return { left, right };
        },
        ({ left, right }) => [left.next, left.state.m, left.state.basis, right.next, right.state.m, right.state.basis],
      );
      for (const side of old) {
        this.la.free(side.m);
        this.la.free(side.basis);
      }
      this.states[i] = { left: result.left.state, right: result.right.state };
      return { left: result.left.next, right: result.right.next };
    });
  }

  dispose(): void {
    for (const state of this.states) {
      for (const side of [state.left, state.right]) {
        this.la.free(side.m);
        this.la.free(side.basis);
      }
    }
    this.states.length = 0;
  }

  private initial(x: M, other: M): SideState<M> {
    const [rows, rank] = this.la.shape(x);
    return { v: smallZeros(rank), m: this.la.zeros(rows, rank), basis: this.la.zeros(this.la.shape(other)[0], rank), rho: 0 };
  }

  /** The update of factor x (m x r) whose partner is `other` (n x r). */
  private side(x: M, gradX: M, other: M, state: SideState<M>, learningRate: number): { next: M; state: SideState<M> } {
    const { la, t } = this;
    const [rows, rank] = la.shape(x);
    const { rootInverse } = polarRoot(la, other);
    const basis = la.times(other, rootInverse);
    let g = la.times(gradX, rootInverse);
    if (this.clipNorm > 0) {
      const norm = Math.sqrt(la.sumOfSquares(g));
      if (norm > this.clipNorm) g = la.combine(this.clipNorm / norm, g, 0, g);
    }
    const p = la.cross(basis, state.basis);
    const carried = smallMul(smallMul(p, state.v), smallTranspose(p));
    const b1 = biasCorrectedDecay(this.beta1, t);
    const b2 = biasCorrectedDecay(this.beta2, t);
    const gram = la.cross(g, g);
    const v = smallCombine(b2, carried, (1 - b2) / rows, gram);
    const rho = this.escapedMass ? b2 * (state.rho + escaped(state.v, carried)) : 0;
    const preconditioner = smallSpectral(symmetricEigen(v), (lambda) => 1 / (Math.sqrt(Math.max(lambda, 0) + rho) + this.eps));
    const s = la.times(g, preconditioner);
    const m = la.combine(b1, la.times(state.m, smallTranspose(p)), 1 - b1, s);
    const rms = Math.sqrt(la.sumOfSquares(m) / (rows * rank));
    const skip = this.skipRms > 0 && rms > this.skipRms;
    const next = skip ? la.combine(1, x, 0, x) : la.combine(1 - learningRate * this.weightDecay, x, -learningRate, la.times(m, rootInverse));
    return { next, state: { v, m, basis, rho } };
  }
}

/** d = min(max_i [λ_i(V_{t-1}) - λ_i(Ṽ)]₊, [tr V_{t-1} - tr Ṽ]₊), eigenvalues paired in order. */
function escaped(previous: Small, carried: Small): number {
  const before = symmetricEigen(previous).values;
  const after = symmetricEigen(carried).values;
  let largest = 0;
  before.forEach((lambda, i) => (largest = Math.max(largest, lambda - after[i]!)));
  return Math.min(largest, Math.max(0, smallTrace(previous) - smallTrace(carried)));
}

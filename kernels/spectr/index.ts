/**
 * Sequence-level SpecTr (Sun et al., NeurIPS 2023, arXiv 2310.15141), pure and model-agnostic:
 * the engine drafts and scores, this module selects, and chooses (K, L).
 *
 * Notation: p = TARGET, q = DRAFT (as /work/shared/papers/spectr.md; the paper swaps them).
 * Context c; K drafts X_1..X_K of length L, sampled i.i.d. from the draft model:
 * X_k[t] ~ q(. | c, X_k[0..t-1]) =: q_{k,t}; the target's p_{k,t} = p(. | c, X_k[0..t-1]),
 * t = 0..L (t = L: the bonus position). Positions are 0-based here (the paper's t + 1).
 *
 * One block (selectBlock):
 *   S = {1..K}                                   (survivors: the drafts holding y_0..y_{t-1})
 *   for t = 0..L-1:
 *     (p, q) = (p_{s,t}, q_{s,t}) for the lowest-indexed s in S  (equal for all s in S)
 *     y_t = K-SEQ(p, q, drafts X_s[t] for s in S), planned with k = |S| (rho* per position)
 *     S = {s in S : X_s[t] = y_t};  emit y_t;  if S is empty: stop
 *   if S is not empty after L positions: emit the bonus y_L ~ p_{s,L}, s in S
 * Emitted: 1..L+1 tokens per target call, distributed exactly as the target's continuation.
 *
 * Why: given the history, the survivors' t-th tokens are i.i.d. q(. | c, y_<t) (they were drawn
 * given their own prefix, which is the accepted one, and selection so far looked only at
 * earlier tokens and independent coins), which is what K-SEQ needs; K-SEQ makes y_t ~ p(. | c,
 * y_<t) for any k; any stopping rule that depends on the past keeps the block exact, because
 * the next block starts afresh from the new context.
 *
 * Choices where the notes or the paper leave room:
 * - Survivors are all drafts holding y_t, whether y_t was accepted or drawn from the residual;
 *   their continuations are still fresh i.i.d. draws, so continuing is exact. At rho* the
 *   residual never holds a draft's token (gamma = rho*, so the residual is 0 wherever
 *   p(x)/rho* <= q(x), and a draft of any other token is always accepted): "no survivor" and
 *   "y_t came from the residual" coincide, as in the notes. With a larger rho (a planner
 *   option, a stale plan) a rejected draft's token can come back from the residual, and then
 *   the block goes on. Either way it stops exactly when no draft holds y_t, and
 *   draftTokens = emitted - 1.
 * - Duplicated drafts are kept as separate candidates: K-SEQ's exactness is about the
 *   multiset of i.i.d. draws, and de-duplicating changes its law (a test shows the bias). An
 *   engine may still score shared prefixes once (a tree) and pass the same objects.
 * - The p and q read are the lowest-indexed survivor's; the others' must agree (same prefix).
 *   They are compared (max |difference| <= 1e-6 by default, same objects skipped) and a
 *   mismatch throws SurvivorMismatchError: it means distributions wired to the wrong drafts.
 *   Near a top-p / min-p cut-off, rounding can flip a token in or out; pass Infinity there.
 * - rho* is recomputed per position for k = |S|. rho*(k) increases with k, so a stale
 *   rho*(K) is still exact (any rho >= rho* is) but accepts less; a rho below rho*(|S|) is not.
 *   rho* maximises K-SEQ's acceptance, not block efficiency: because drafts holding a residual
 *   token survive, a larger rho sometimes keeps more drafts alive (on the test models, rho = k
 *   gave up to +3% tokens per block, and also -3%). The planner option is where to tune that.
 * - L = 0: no draft position; the one token is sampled from p_{0,0}; q is never read (plain
 *   decoding is K = 1, L = 0 here, and K = L = 0 in the cost model: no drafting at all).
 * - Temperature 0 (options.temperatureZero): y_t = argmax p (ties: smallest id), drafts survive
 *   iff they equal it, q is not read. Drafts are the K most likely DISTINCT first tokens of
 *   q(. | c) continued greedily (greedyContinuations); the output equals greedy decoding.
 *   A point-mass p without the flag is handled the same way by K-SEQ itself.
 * - The bonus and the residual draw go through the same Chance as the acceptance coins, so one
 *   enumerating Chance covers every branch in the tests.
 *
 * Choosing (K, L): AcceptanceModel (acceptance-model.ts) gives the law of the survivors after
 * a position; blockEfficiency runs it; cost.ts turns measured cost curves into tokens/s over a
 * grid and falls back to plain decoding; estimator.ts keeps exponentially weighted transition
 * counts from served blocks for an adaptive model.
 */
export type { DistributionGrid, KseqPlanner, PositionOutcome, SelectBlockOptions, SpectrBlock, SpectrBlockResult } from "./types.ts";
export { selectBlock } from "./select.ts";
export { checkSurvivorsAgree, maxAbsDifference, SurvivorMismatchError } from "./consistency.ts";
export { argmaxToken, greedyContinuations, greedyFirstTokens } from "./greedy.ts";
export {
  binomialPmf,
  blockEfficiency,
  iidAcceptanceModel,
  kseqAcceptanceModel,
  kseqSurvivorTransition,
  survivalByPosition,
  type AcceptanceModel,
} from "./acceptance-model.ts";
export {
  chooseSpeculation,
  evaluateSpeculation,
  plainDecoding,
  speculativeBlockMs,
  tableCostCurve,
  type ChooseOptions,
  type CostCurve,
  type SpeculationChoice,
  type SpeculationCosts,
  type SpeculationPlan,
} from "./cost.ts";
export {
  acceptanceRateByPosition,
  createAcceptanceStats,
  estimatedAcceptanceModel,
  observeBlock,
  observedBlockEfficiency,
  type AcceptanceStats,
} from "./estimator.ts";

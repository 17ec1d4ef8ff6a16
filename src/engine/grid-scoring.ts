/**
 * Grid scoring: the probability of each candidate continuation of a prompt under the request's
 * sampling law, read natively from the model (no sampling noise). Candidates form a token trie;
 * each trie node with children is evaluated once (a candidate's shared prefix is never
 * evaluated twice) and its output read for its children's log-probabilities. A leaf needs no
 * evaluation: its probability is read at its parent.
 *
 * The law (docs/metric-aware.md): at every step, the request's chain (logit_bias, penalties over
 * the candidate's own earlier tokens, top_k, top_p, min_p, then the estimator's temperature), the
 * same law Monte Carlo samples are drawn from. A candidate's probability is that of the event
 * "the continuation starts with its tokens and does not go on along a longer candidate's", so
 * candidates that are prefixes of others ("1" and "10") are disjoint events and their masses add
 * up to at most 1.
 */
import type { LlamaContextSequence } from "node-llama-cpp";
import { evaluateWithOutputs, type OutputTask } from "./native/outputs.ts";
import { chainLogprobs } from "./native/reads.ts";
import { chainFor } from "./sampling/chain-for.ts";
import type { SamplingParams } from "./sampling/params.ts";

interface TrieNode {
  /** The token that leads here (undefined at the root). */
  readonly token: number | undefined;
  readonly children: Map<number, TrieNode>;
  /** Candidates ending here (equal token sequences share a node). */
  readonly candidates: number[];
  /** log P(prefix) under the law, set when the parent is read. */
  logprob: number;
}

export interface GridScores {
  /** Per candidate, in the order given: P(continuation is exactly this candidate among the set). */
  readonly mass: number[];
  /** Candidate tokens evaluated (trie nodes with children, the root excluded: that is the prompt's last token). */
  readonly evaluatedTokens: number;
}

/**
 * Scores `candidates` (token lists, each non-empty) after `prompt` on one sequence of the
 * model's pool (holding nothing; it is left holding some prefix). The prompt is evaluated once.
 */
export async function scoreCandidates(
  sequence: LlamaContextSequence,
  prompt: readonly number[],
  candidates: readonly (readonly number[])[],
  sampling: SamplingParams,
  signal: AbortSignal,
): Promise<GridScores> {
  const root = buildTrie(candidates);
  if (prompt.length > 1) await evaluateWithOutputs(sequence, prompt.slice(0, -1), new Map());
  let evaluatedTokens = 0;
  // Depth-first: a node's own token is evaluated on top of its ancestors' (erasing a sibling branch first).
  const visit = async (node: TrieNode, path: number[]): Promise<void> => {
    if (node.children.size === 0) return;
    signal.throwIfAborted();
    const held = prompt.length - 1 + path.length;
    if (sequence.nextTokenIndex > held) await sequence.eraseContextTokenRanges([{ start: held, end: sequence.nextTokenIndex }]);
    const input = node.token === undefined ? [prompt[prompt.length - 1]!] : [node.token];
    if (node.token !== undefined) evaluatedTokens++;
    const children = [...node.children.values()];
    const chain = chainFor(sampling, path, 0);
    const read: OutputTask<number[]> = (reader) => chainLogprobs(reader, chain, children.map((child) => child.token!));
    const [logprobs] = await evaluateWithOutputs(sequence, input, new Map([[0, read]]));
    children.forEach((child, i) => (child.logprob = node.logprob + logprobs![i]!));
    for (const child of children) await visit(child, [...path, child.token!]);
  };
  await visit(root, []);
  const mass = new Array<number>(candidates.length).fill(0);
  const collect = (node: TrieNode): void => {
    if (node.candidates.length > 0) {
      // What goes on along a longer candidate is that candidate's, not this one's.
      let continued = 0;
      for (const child of node.children.values()) continued += Math.exp(child.logprob);
      const exclusive = Math.max(0, Math.exp(node.logprob) - continued);
      for (const index of node.candidates) mass[index] = exclusive;
    }
    for (const child of node.children.values()) collect(child);
  };
  collect(root);
  return { mass, evaluatedTokens };
}

function buildTrie(candidates: readonly (readonly number[])[]): TrieNode {
  const root: TrieNode = { token: undefined, children: new Map(), candidates: [], logprob: 0 };
  candidates.forEach((tokens, index) => {
    if (tokens.length === 0) throw new RangeError(`candidate ${index} has no tokens`);
    let node = root;
    for (const token of tokens) {
      let child = node.children.get(token);
      if (child === undefined) node.children.set(token, (child = { token, children: new Map(), candidates: [], logprob: -Infinity }));
      node = child;
    }
    node.candidates.push(index);
  });
  return root;
}

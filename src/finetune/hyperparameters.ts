/** Resolves a job's hyperparameters ("auto" and absent values) and turns them into trainer options. */
import type { FinetuneOptions } from "../../kernels/finetune/trainer.ts";
import type { Hyperparameters, ResolvedHyperparameters } from "../protocol/fine-tuning.ts";

/**
 * The learning rate a multiplier of 1 means, per optimizer: the best of bench/finetune.ts's
 * first, 12-step sweep on this repository's target model. Longer runs there (100 steps, sweeping
 * 5e-3 / 1e-2 / 2e-2) did best at 5e-3 for both (docs/fine-tuning.md); the default stays on the
 * cautious side, and learning_rate_multiplier raises it.
 */
export const BASE_LEARNING_RATE = { rite: 2e-3, adam: 2e-3 } as const;

export function resolveHyperparameters(requested: Hyperparameters = {}): ResolvedHyperparameters {
  const rank = requested.rank ?? 8;
  return {
    n_epochs: requested.n_epochs === undefined || requested.n_epochs === "auto" ? 3 : requested.n_epochs,
    batch_size: requested.batch_size === undefined || requested.batch_size === "auto" ? 4 : requested.batch_size,
    learning_rate_multiplier: requested.learning_rate_multiplier === undefined || requested.learning_rate_multiplier === "auto" ? 1 : requested.learning_rate_multiplier,
    optimizer: requested.optimizer ?? "rite",
    rank,
    alpha: requested.alpha ?? 2 * rank,
    targets: requested.targets ?? ["attn_q", "attn_v"],
    dropout: requested.dropout ?? 0,
  };
}

export function stepsOf(hyperparameters: ResolvedHyperparameters, trainExamples: number): number {
  return hyperparameters.n_epochs * Math.ceil(trainExamples / hyperparameters.batch_size);
}

export function trainerOptions(hyperparameters: ResolvedHyperparameters, seed: number, trainExamples: number): FinetuneOptions {
  const steps = stepsOf(hyperparameters, trainExamples);
  return {
    lora: { rank: hyperparameters.rank, alpha: hyperparameters.alpha, targets: hyperparameters.targets },
    dropout: hyperparameters.dropout,
    optimizer: hyperparameters.optimizer,
    learningRate: BASE_LEARNING_RATE[hyperparameters.optimizer] * hyperparameters.learning_rate_multiplier,
    epochs: hyperparameters.n_epochs,
    batchSize: hyperparameters.batch_size,
    seed,
    validationFraction: 0.1,
    // About ten validation points per run, and early stopping after three without progress.
    evalEvery: Math.max(1, Math.floor(steps / 10)),
    patience: 3,
  };
}

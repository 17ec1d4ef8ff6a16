/**
 * A run's per-step metrics as OpenAI's fine-tuning results file: a CSV with a row per
 * optimizer step. train_loss and train_accuracy are the step's batch before its update (the
 * mean over its reply tokens, and the share of them the model predicted as its most likely
 * token); valid_loss and valid_mean_token_accuracy are the whole validation set's, filled
 * at the steps it was evaluated (about ten a run) and empty elsewhere.
 */
import type { Progress } from "./trainer.ts";

export const RESULTS_COLUMNS = ["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"] as const;

export function resultsCsv(history: readonly Progress[]): string {
  const rows = history.map((p) => [String(p.step), number(p.trainLoss), number(p.trainAccuracy), number(p.validationLoss), number(p.validationAccuracy)].join(","));
  return [RESULTS_COLUMNS.join(","), ...rows].join("\n") + "\n";
}

function number(value: number | undefined): string {
  return value === undefined ? "" : String(Number(value.toPrecision(6)));
}

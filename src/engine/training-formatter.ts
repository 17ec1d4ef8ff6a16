/**
 * Fine-tuning examples tokenized exactly as this model is served (kernels/finetune's
 * TrainingFormatter): chat prompts through the same chat renderer as /v1/chat/completions,
 * completion prompts through the same tokenize as /v1/completions (BOS included when the
 * model wants one), and replies ending in the end-of-generation token serving stops at.
 */
import type { TrainingFormatter } from "../../kernels/finetune/encode.ts";
import type { ServedModel } from "./served-model.ts";

export function trainingFormatter(served: ServedModel): TrainingFormatter {
  const end = served.model.tokens.eos ?? served.model.tokens.eot;
  const reply = (text: string): number[] => {
    const tokens = served.model.tokenize(text, false).map(Number);
    return end === null ? tokens : [...tokens, Number(end)];
  };
  return {
    chatPrompt: (messages) => served.chatRenderer.render(messages).tokens,
    completionPrompt: (prompt) => served.tokenize(prompt),
    chatReply: (content) => reply(served.chatRenderer.replyText(content)),
    completionReply: (text) => reply(text),
  };
}

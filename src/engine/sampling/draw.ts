import type { Random } from "../../../kernels/random.ts";
import { invalidRequest } from "../../protocol/errors.ts";
import type { Distribution } from "./distribution.ts";

/** Inverse-CDF draw from a (transformed) distribution with the request's seeded random source. */
export function draw(distribution: Distribution, random: Random): number {
  // Only a logit_bias of -100 on every token can empty a distribution.
  if (distribution.tokens.length === 0) throw invalidRequest("logit_bias excludes every token.", "logit_bias");
  if (distribution.tokens.length === 1) return distribution.tokens[0]!;
  let u = random.next();
  for (let i = 0; i < distribution.tokens.length; i++) {
    u -= distribution.probs[i]!;
    if (u < 0) return distribution.tokens[i]!;
  }
  return distribution.tokens[distribution.tokens.length - 1]!;
}

/**
 * Settings every script reads from k6's environment (`k6 run -e BASE_URL=... script.ts`):
 * where the gateway is, which model, and the API key if the gateway has API_KEYS set.
 */
export const baseUrl = __ENV.BASE_URL ?? "http://127.0.0.1:8080";
export const model = __ENV.MODEL ?? "target";
export const maxTokens = Number(__ENV.MAX_TOKENS ?? 64);

export function headers(): Record<string, string> {
  const key = __ENV.API_KEY;
  return { "content-type": "application/json", ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) };
}

/** Prompts of different lengths, so prefill and decode both show. */
export const prompts = [
  "The President said",
  "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse,",
  "In the year of our Lord",
  "We the people of the United States, in order to form a more perfect union, establish justice,",
  "It was the whale",
];

/** k6's console, which @types/k6 does not declare. */
declare const console: { warn(message: string): void };

/** Says on k6's stderr why a check is about to fail (the status and body when it is not 200), so a failed run names its bad answers. */
export function explain(what: string, response: { status: number; body: unknown }, problem: string | undefined): void {
  if (response.status !== 200) console.warn(`${what}: ${response.status} ${String(response.body).slice(0, 300)}`);
  else if (problem !== undefined) console.warn(`${what}: ${problem}`);
}

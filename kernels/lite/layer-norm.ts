/** LayerNorm without gain or bias (the linear layer after it carries both), forward and backward. */
export const LAYER_NORM_EPS = 1e-5;

/** Normalises x[0..n) into y; returns 1/sigma, which the backward pass needs. */
export function layerNorm(x: Float64Array, y: Float64Array, n: number): number {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i]! - mean) ** 2;
  const inverseSigma = 1 / Math.sqrt(variance / n + LAYER_NORM_EPS);
  for (let i = 0; i < n; i++) y[i] = (x[i]! - mean) * inverseSigma;
  return inverseSigma;
}

/** dx from dy, the output y and 1/sigma: dx = (dy - mean(dy) - y mean(dy y)) / sigma. */
export function layerNormBackward(y: Float64Array, dy: Float64Array, inverseSigma: number, dx: Float64Array, n: number): void {
  let meanDy = 0;
  let meanDyY = 0;
  for (let i = 0; i < n; i++) {
    meanDy += dy[i]!;
    meanDyY += dy[i]! * y[i]!;
  }
  meanDy /= n;
  meanDyY /= n;
  for (let i = 0; i < n; i++) dx[i] = inverseSigma * (dy[i]! - meanDy - y[i]! * meanDyY);
}

/**
 * r x r matrices in float64, row-major. LoRA-RITE's per-pair bookkeeping (Gram matrices,
 * second moments, basis changes) lives at the rank's size, so it is done in plain JS even
 * when the factors are float32 tfjs tensors: eigendecompositions are exact enough here and
 * tfjs has none.
 */
export interface Small {
  n: number;
  data: Float64Array;
}

export function smallZeros(n: number): Small {
  return { n, data: new Float64Array(n * n) };
}

export function smallMul(a: Small, b: Small): Small {
  const { n } = a;
  const out = smallZeros(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a.data[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out.data[i * n + j]! += aik * b.data[k * n + j]!;
    }
  }
  return out;
}

export function smallTranspose(a: Small): Small {
  const { n } = a;
  const out = smallZeros(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out.data[j * n + i] = a.data[i * n + j]!;
  return out;
}

export function smallTrace(a: Small): number {
  let sum = 0;
  for (let i = 0; i < a.n; i++) sum += a.data[i * a.n + i]!;
  return sum;
}

/** a * x + b * y */
export function smallCombine(a: number, x: Small, b: number, y: Small): Small {
  return { n: x.n, data: x.data.map((value, i) => a * value + b * y.data[i]!) };
}

/** Q diag(f(lambda_i)) Q^T from an eigendecomposition (Q's columns are the eigenvectors). */
export function smallSpectral(eigen: SymmetricEigen, f: (lambda: number) => number): Small {
  const { n } = eigen.vectors;
  const q = eigen.vectors.data;
  const weights = eigen.values.map(f);
  const out = smallZeros(n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += q[i * n + k]! * weights[k]! * q[j * n + k]!;
      out.data[i * n + j] = out.data[j * n + i] = sum;
    }
  }
  return out;
}

export interface SymmetricEigen {
  /** Descending. */
  values: Float64Array;
  /** Column k is the eigenvector of values[k]. */
  vectors: Small;
}

/**
 * Cyclic Jacobi on a symmetric matrix (its upper triangle is read): rotations until the
 * off-diagonal mass is negligible. Accurate to working precision for every eigenvalue,
 * including the tiny ones of ill-conditioned Gram matrices, which QR-iteration shortcuts lose.
 */
export function symmetricEigen(input: Small): SymmetricEigen {
  const { n } = input;
  const a = Float64Array.from(input.data);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i]!;
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const square = a[i * n + j]! ** 2;
        total += square;
        if (i !== j) off += square;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y]! - a[x * n + x]!);
  const values = Float64Array.from(order, (i) => a[i * n + i]!);
  const vectors = smallZeros(n);
  order.forEach((from, to) => {
    for (let k = 0; k < n; k++) vectors.data[k * n + to] = v[k * n + from]!;
  });
  return { values, vectors };
}

/** Adam (Kingma and Ba) over one flat parameter array. */
export class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private step = 0;

  constructor(size: number, private readonly learningRate: number, private readonly beta1 = 0.9, private readonly beta2 = 0.999, private readonly epsilon = 1e-8) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  update(params: Float64Array, grads: Float64Array): void {
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i]!;
      this.m[i] = this.beta1 * this.m[i]! + (1 - this.beta1) * g;
      this.v[i] = this.beta2 * this.v[i]! + (1 - this.beta2) * g * g;
      params[i]! -= (this.learningRate * (this.m[i]! / c1)) / (Math.sqrt(this.v[i]! / c2) + this.epsilon);
    }
  }
}

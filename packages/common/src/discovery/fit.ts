/**
 * Fitting the logistic model: L2-regularized logistic regression solved by Newton's method
 * (iteratively reweighted least squares). Pure and deterministic; used by the evaluation tool's
 * --fit mode, never at run time. Features are few (tens), so the dense Hessian is tiny.
 */

export interface Example {
  /** Feature name -> value (absent = 0). */
  features: ReadonlyMap<string, number>;
  label: 0 | 1;
  /** Sample weight (class balancing). */
  weight: number;
}

export interface FitOptions {
  /** L2 penalty on weights (not on the bias). */
  l2: number;
  iterations: number;
  /** Weights held fixed (not fitted): their contribution is an offset. */
  fixed?: Readonly<Record<string, number>>;
}

export interface FittedModel {
  bias: number;
  weights: Record<string, number>;
}

export function fitLogistic(examples: readonly Example[], options: FitOptions): FittedModel {
  const fixed = options.fixed ?? {};
  const names = [
    ...new Set(
      examples.flatMap((example) => [...example.features.keys()]).filter((name) => !(name in fixed)),
    ),
  ].sort();
  const index = new Map(names.map((name, position) => [name, position + 1])); // 0 = bias
  const size = names.length + 1;
  const rows = examples.map((example) => {
    const columns: number[] = [0];
    const values: number[] = [1];
    let offset = 0;
    for (const [name, value] of example.features) {
      if (value === 0) continue;
      const fixedWeight = fixed[name];
      if (fixedWeight !== undefined) {
        offset += fixedWeight * value;
        continue;
      }
      columns.push(index.get(name)!);
      values.push(value);
    }
    return { columns, values, offset, label: example.label, weight: example.weight };
  });
  const beta = new Array<number>(size).fill(0);
  for (let iteration = 0; iteration < options.iterations; iteration++) {
    const gradient = new Array<number>(size).fill(0);
    const hessian = Array.from({ length: size }, () => new Array<number>(size).fill(0));
    for (const row of rows) {
      let z = row.offset;
      for (let k = 0; k < row.columns.length; k++) z += beta[row.columns[k]!]! * row.values[k]!;
      const p = 1 / (1 + Math.exp(-z));
      const residual = row.weight * (row.label - p);
      const curvature = row.weight * p * (1 - p);
      for (let a = 0; a < row.columns.length; a++) {
        const ca = row.columns[a]!;
        const va = row.values[a]!;
        gradient[ca]! += residual * va;
        const hessianRow = hessian[ca]!;
        for (let b = 0; b < row.columns.length; b++)
          hessianRow[row.columns[b]!]! += curvature * va * row.values[b]!;
      }
    }
    for (let k = 1; k < size; k++) {
      gradient[k]! -= options.l2 * beta[k]!;
      hessian[k]![k]! += options.l2;
    }
    hessian[0]![0]! += 1e-9;
    const step = solve(hessian, gradient);
    let change = 0;
    for (let k = 0; k < size; k++) {
      beta[k]! += step[k]!;
      change = Math.max(change, Math.abs(step[k]!));
    }
    if (change < 1e-7) break;
  }
  const weights: Record<string, number> = {};
  names.forEach((name, position) => {
    weights[name] = beta[position + 1]!;
  });
  return { bias: beta[0]!, weights };
}

/** Solves A x = b for a symmetric positive definite A (Gaussian elimination with partial pivoting). */
function solve(matrix: number[][], vector: number[]): number[] {
  const n = vector.length;
  const a = matrix.map((row, i) => [...row, vector[i]!]);
  for (let column = 0; column < n; column++) {
    let pivot = column;
    for (let row = column + 1; row < n; row++) {
      if (Math.abs(a[row]![column]!) > Math.abs(a[pivot]![column]!)) pivot = row;
    }
    [a[column], a[pivot]] = [a[pivot]!, a[column]!];
    const pivotRow = a[column]!;
    const pivotValue = pivotRow[column]!;
    if (Math.abs(pivotValue) < 1e-12) continue;
    for (let row = column + 1; row < n; row++) {
      const target = a[row]!;
      const factor = target[column]! / pivotValue;
      if (factor === 0) continue;
      for (let k = column; k <= n; k++) target[k]! -= factor * pivotRow[k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    const current = a[row]!;
    let sum = current[n]!;
    for (let k = row + 1; k < n; k++) sum -= current[k]! * x[k]!;
    x[row] = Math.abs(current[row]!) < 1e-12 ? 0 : sum / current[row]!;
  }
  return x;
}

/**
 * A second implementation of the Llama forward pass, in float64 with plain loops, one position at
 * a time with a key/value cache, following llama2.c's run.c line by line rather than our
 * TensorFlow.js code: the check for what the packaged wasm build cannot test (grouped-query
 * attention, an untied classifier, the bilinear and β-gated MLPs).
 */
import type { LlamaShape } from '../../pipeline/models/llama.ts';
import type { Weights } from '../../pipeline/models/kind.ts';

/** out (rows) = M (rows × cols) · x (cols), M row-major. */
function matVec(m: Float32Array, x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += m[i * cols + j]! * x[j]!;
    out[i] = sum;
  }
  return out;
}

function rmsNorm(x: Float64Array, gain: Float32Array | undefined, eps: number): Float64Array {
  if (!gain) return Float64Array.from(x); // a model without norms (shape.norm 'none') has no gains
  let ss = 0;
  for (const v of x) ss += v * v;
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * scale * gain[i]!);
}

function rotate(vec: Float64Array, pos: number, hs: number, theta: number): void {
  for (let i = 0; i < vec.length; i += 2) {
    const freq = 1 / theta ** ((i % hs) / hs);
    const [c, s] = [Math.cos(pos * freq), Math.sin(pos * freq)];
    const [a, b] = [vec[i]!, vec[i + 1]!];
    vec[i] = a * c - b * s;
    vec[i + 1] = a * s + b * c;
  }
}

/** Logits (vocab) after each token of `tokens`, in float64. */
export function referenceLogits(s: LlamaShape, w: Weights, tokens: number[], beta = s.beta): Float64Array[] {
  const hs = s.dim / s.heads;
  const kvDim = s.kvHeads * hs;
  const keys: Float64Array[][] = Array.from({ length: s.layers }, () => []);
  const values: Float64Array[][] = Array.from({ length: s.layers }, () => []);
  return tokens.map((token, pos) => {
    const x = Float64Array.from(w['embed']!.subarray(token * s.dim, (token + 1) * s.dim));
    for (let l = 0; l < s.layers; l++) {
      const at = (name: string) => w[`layers.${l}.${name}`]!;
      const xb = rmsNorm(x, at('attn_norm'), s.normEps);
      const q = matVec(at('wq'), xb, s.dim, s.dim);
      const k = matVec(at('wk'), xb, kvDim, s.dim);
      const v = matVec(at('wv'), xb, kvDim, s.dim);
      rotate(q, pos, hs, s.ropeTheta);
      rotate(k, pos, hs, s.ropeTheta);
      keys[l]!.push(k);
      values[l]!.push(v);
      const attended = new Float64Array(s.dim);
      for (let h = 0; h < s.heads; h++) {
        const kvh = Math.floor(h / (s.heads / s.kvHeads)); // query head h reads kv head h / (H / KV)
        const scores = keys[l]!.map((kt) => {
          let dot = 0;
          for (let i = 0; i < hs; i++) dot += q[h * hs + i]! * kt[kvh * hs + i]!;
          return dot / Math.sqrt(hs);
        });
        const max = Math.max(...scores);
        const e = scores.map((z) => Math.exp(z - max));
        const total = e.reduce((a, b) => a + b, 0);
        values[l]!.forEach((vt, t) => {
          for (let i = 0; i < hs; i++) attended[h * hs + i]! += (e[t]! / total) * vt[kvh * hs + i]!;
        });
      }
      const o = matVec(at('wo'), attended, s.dim, s.dim);
      for (let i = 0; i < s.dim; i++) x[i]! += o[i]!;
      const hb = rmsNorm(x, at('mlp_norm'), s.normEps);
      const a = matVec(at('w1'), hb, s.hidden, s.dim);
      const b = matVec(at('w3'), hb, s.hidden, s.dim);
      const gated = a.map((z, i) => (s.mlp === 'bilinear' ? z : z / (1 + Math.exp(-beta * z))) * b[i]!);
      const out = matVec(at('w2'), gated, s.dim, s.hidden);
      for (let i = 0; i < s.dim; i++) x[i]! += out[i]!;
    }
    const final = rmsNorm(x, w['final_norm'], s.normEps);
    return matVec(s.tiedEmbeddings ? w['embed']! : w['unembed']!, final, s.vocab, s.dim);
  });
}

/**
 * Schedules of named scalars over the training steps: the learning rate, and any scalar a model
 * reads in its forward pass (a gate's β annealed from 1 to 0 while finetuning).
 *
 * The learning rate's default: 1) linear warm-up from 0 to the peak over `warmupSteps`,
 * 2) cosine decay from the peak to `finalFraction` · peak at the last step.
 * Warm-up keeps Adam's first, noisy moment estimates from taking large steps.
 */
export interface Schedule {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  finalFraction: number;
}

export function learningRate(s: Schedule, step: number): number {
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  const decaySteps = Math.max(1, s.totalSteps - s.warmupSteps - 1);
  const progress = Math.min(1, (step - s.warmupSteps) / decaySteps);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
  return s.peak * (s.finalFraction + (1 - s.finalFraction) * cosine);
}

/**
 * A named scalar's schedule, in shares of all steps (so it means the same at any epoch count):
 * - constant: `value` throughout;
 * - linear: `from` until `start`, then linearly to `to` at `end`, then `to`;
 * - warmup-cosine: the learning-rate shape above, `peak` after a `warmup` share of steps, cosine to
 *   `final` · peak;
 * - alpha-decay: the anneal of the bilinear paper's finetuning code (its `AlphaDecay`): with u the
 *   progress through the first `end` share of steps, α = min(u · e^{k − k u}, 1) and the value
 *   from + (to − from) · α, then `to`. α(0) = 0 and α(1) = 1; for k ≤ 1 it rises all the way to
 *   u = 1, for k > 1 it reaches 1 earlier (k = 1.05: at u ≈ 0.90), and a larger k moves more of
 *   the change early (α ≈ u · e^k near u = 0).
 */
export type ScalarSchedule =
  | { kind: 'constant'; value: number }
  | { kind: 'linear'; from: number; to: number; start: number; end: number }
  | { kind: 'warmup-cosine'; peak: number; warmup: number; final: number }
  | { kind: 'alpha-decay'; from: number; to: number; k: number; end: number };

/** The scalar's value at `step` (0-based) of `totalSteps`. */
export function scheduleValue(s: ScalarSchedule, step: number, totalSteps: number): number {
  switch (s.kind) {
    case 'constant':
      return s.value;
    case 'linear': {
      const at = totalSteps <= 1 ? 1 : step / (totalSteps - 1);
      if (at <= s.start) return s.from;
      if (at >= s.end) return s.to;
      return s.from + ((s.to - s.from) * (at - s.start)) / (s.end - s.start);
    }
    case 'alpha-decay': {
      const u = Math.min(1, (totalSteps <= 1 ? 1 : step / (totalSteps - 1)) / s.end);
      const alpha = Math.min(u * Math.exp(s.k - s.k * u), 1);
      return alpha === 1 ? s.to : s.from + (s.to - s.from) * alpha;
    }
    case 'warmup-cosine':
      return learningRate(
        { peak: s.peak, warmupSteps: Math.round(s.warmup * totalSteps), totalSteps, finalFraction: s.final },
        step,
      );
  }
}

/** Refuses a schedule that cannot mean what it says, naming it. */
export function checkSchedule(name: string, s: ScalarSchedule): void {
  const finite = (what: string, x: number) => {
    if (!Number.isFinite(x)) throw new Error(`schedule '${name}': ${what} must be a finite number, got ${x}`);
  };
  if (s.kind === 'constant') finite('value', s.value);
  else if (s.kind === 'linear') {
    [
      ['from', s.from],
      ['to', s.to],
      ['start', s.start],
      ['end', s.end],
    ].forEach(([w, x]) => finite(w as string, x as number));
    if (!(s.start >= 0 && s.end <= 1 && s.start < s.end))
      throw new Error(
        `schedule '${name}': needs 0 ≤ start < end ≤ 1 (shares of all steps), ` +
          `got start ${s.start}, end ${s.end}`,
      );
  } else if (s.kind === 'alpha-decay') {
    [
      ['from', s.from],
      ['to', s.to],
      ['k', s.k],
      ['end', s.end],
    ].forEach(([w, x]) => finite(w as string, x as number));
    if (!(s.k > 0)) throw new Error(`schedule '${name}': k must be > 0, got ${s.k}`);
    if (!(s.end > 0 && s.end <= 1))
      throw new Error(`schedule '${name}': end must be a share of steps in (0, 1], got ${s.end}`);
  } else {
    [
      ['peak', s.peak],
      ['warmup', s.warmup],
      ['final', s.final],
    ].forEach(([w, x]) => finite(w as string, x as number));
    if (!(s.warmup >= 0 && s.warmup < 1))
      throw new Error(`schedule '${name}': warmup must be a share of steps in [0, 1), got ${s.warmup}`);
  }
}

/**
 * Learning-rate schedule: 1) linear warm-up from 0 to the peak over `warmupSteps`,
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

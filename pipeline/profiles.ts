/**
 * Build profiles. Each report chooses its own settings per profile; these are the names and
 * what each promises (budgets on a 2-core machine, cold cache).
 */
import { unknownChoice } from './errors.ts';

export const PROFILES = {
  smoke: 'every report with tiny models and data; seconds; what tests and CI build',
  default: 'the published site; at most 40 minutes cold (the image and study reports alone at most 12)',
  paper: "the paper's settings (sizes, epochs, seeds); hours",
} as const;

export type ProfileName = keyof typeof PROFILES;

export function parseProfile(value: string): ProfileName {
  if (Object.hasOwn(PROFILES, value)) return value as ProfileName;
  throw unknownChoice('profile', value, Object.keys(PROFILES));
}

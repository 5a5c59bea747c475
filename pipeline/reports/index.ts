/** Every report the pipeline builds, in the order the site lists them. */
import { ablationsReport } from './ablations.ts';
import { adversarialMasksReport } from './adversarial-masks.ts';
import { baselinesReport } from './baselines.ts';
import { fashionMnistReport } from './fashion-mnist.ts';
import { finetuneReport } from './finetune.ts';
import { mnistReport } from './mnist.ts';
import { modularArithmeticReport } from './modular-arithmetic.ts';
import { languageReport } from './language.ts';
import { storiesReport } from './stories.ts';
import type { ReportSpec } from './spec.ts';

export const REPORTS: ReportSpec[] = [
  mnistReport,
  fashionMnistReport,
  baselinesReport,
  ablationsReport,
  storiesReport,
  languageReport,
  finetuneReport,
  modularArithmeticReport,
  adversarialMasksReport,
];

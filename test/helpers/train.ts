/**
 * The bilinear classifier trained on the classification task, the way the training job trains it (validating
 * on the test set unless given one).
 */
import type { ImageSet } from '../../pipeline/data/dataset.ts';
import { bilinearClassifier, type BilinearShape } from '../../pipeline/models/bilinear-classifier.ts';
import { classification } from '../../pipeline/tasks/classification.ts';
import { train, type TrainResult, type TrainSettings } from '../../pipeline/train/trainer.ts';
import type { Log } from '../../pipeline/util/log.ts';

export function trainClassifier(
  shape: BilinearShape,
  settings: TrainSettings,
  data: { train: ImageSet; test: ImageSet; validation?: ImageSet },
  log: Log,
): Promise<TrainResult> {
  return train(
    {
      kind: bilinearClassifier,
      shape,
      task: classification,
      data: { validation: data.test, ...data, classes: shape.classes },
      settings,
    },
    log,
  );
}

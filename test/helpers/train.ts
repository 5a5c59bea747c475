/** The bilinear classifier trained on the classification task, the way the training job trains it. */
import type { ImageSet } from '../../pipeline/data/dataset.ts';
import { bilinearClassifier, type BilinearShape } from '../../pipeline/models/bilinear-classifier.ts';
import { classification } from '../../pipeline/tasks/classification.ts';
import { train, type TrainResult, type TrainSettings } from '../../pipeline/train/trainer.ts';
import type { Log } from '../../pipeline/util/log.ts';

export function trainClassifier(shape: BilinearShape, settings: TrainSettings, data: { train: ImageSet; test: ImageSet }, log: Log): Promise<TrainResult> {
  return train({ kind: bilinearClassifier, shape, task: classification, data: { ...data, classes: shape.classes }, settings }, log);
}

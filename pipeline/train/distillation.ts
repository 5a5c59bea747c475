/**
 * The distillation loss: the mean over positions of KL(p ‖ q), p the output distribution of a
 * frozen teacher and q the student's, each a softmax over the last axis of its model's output.
 * Per position, KL = Σ_v p_v (log p_v − log q_v), whose gradient in the student's logits z is
 * softmax(z) − p: one pass over N × V values, written by hand so that no graph of the log-softmax
 * is kept for the backward pass (V is a vocabulary of tens of thousands).
 */
import * as tf from '@tensorflow/tfjs';

const rows = (t: tf.Tensor) => tf.reshape<tf.Rank.R2>(t, [-1, t.shape.at(-1)!]);

const meanKl = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [z, teacher, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  const logq = tf.logSoftmax(z);
  const logp = tf.logSoftmax(teacher);
  const p = tf.exp(logp);
  const value = tf.div<tf.Scalar>(tf.sum(tf.mul(p, tf.sub(logp, logq))), z.shape[0]);
  save([tf.exp(logq), p]);
  return {
    value,
    gradFunc: (dy: tf.Scalar, [q, pSaved]: tf.Tensor[]) => [
      tf.mul(tf.sub(q!, pSaved!), tf.div(dy, z.shape[0])),
      tf.zerosLike(teacher),
    ],
  };
});

/**
 * The mean KL divergence from the teacher's distribution to the student's, over every position
 * (every row of the outputs' last axis), differentiable in the student's output alone.
 */
export function klDivergence(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  if (student.shape.join() !== teacher.shape.join())
    throw new Error(`distillation: student output ${student.shape} and teacher's ${teacher.shape} differ`);
  return meanKl(rows(student), rows(teacher));
}

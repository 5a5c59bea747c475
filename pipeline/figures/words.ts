/** Small numbers as words, as captions write them ("the three eigenvectors"); larger ones as digits. */
const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

export function countWord(n: number): string {
  return WORDS[n] ?? n.toLocaleString('en-US');
}

/** A count with its noun, singular for one: "1 epoch", "40 epochs". */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;
}

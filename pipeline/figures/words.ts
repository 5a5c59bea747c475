/** Small numbers as words, as captions write them ("the three eigenvectors"); larger ones as digits. */
const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

export function countWord(n: number): string {
  return WORDS[n] ?? n.toLocaleString('en-US');
}

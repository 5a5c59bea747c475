/** Human-readable sizes, for status lines and download tables. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

/** Seconds as a reader wants them: "4.2 s" under 10 s, "42 s" under 90 s, then "3.4 min", then "1.2 h". */
export function formatSeconds(seconds: number): string {
  if (!(seconds >= 0)) throw new Error(`formatSeconds: not a duration: ${seconds}`);
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 89.5) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * Everything the pipeline says goes through a Log, so tests can run it silently and a terminal
 * gets a progress bar while CI gets periodic lines.
 */
import { styleText } from 'node:util';

export type JobStatus =
  'cached' | 'missing' | 'built' | 'damaged' | 'failed' | 'emitted' | 'waiting' | 'skipped';

export interface Progress {
  /** Reports `done` of `total` units, with a short detail such as the current loss. */
  update(done: number, detail?: string): void;
  end(): void;
}

export interface Log {
  info(message: string): void;
  warn(message: string): void;
  /** One line per job: what happened to it and how long it took. */
  job(status: JobStatus, label: string, detail: string): void;
  progress(label: string, total: number): Progress;
}

const STATUS_STYLE: Record<JobStatus, Parameters<typeof styleText>[0]> = {
  cached: 'dim',
  missing: 'yellow',
  built: 'green',
  damaged: 'magenta',
  failed: 'red',
  emitted: 'cyan',
  waiting: 'yellow',
  skipped: 'yellow',
};

/** Logs to stderr; a redrawn bar on a terminal, a line every `intervalMs` otherwise. */
export function consoleLog(stream: NodeJS.WriteStream = process.stderr, intervalMs = 10_000): Log {
  const paint = (style: Parameters<typeof styleText>[0], text: string) => styleText(style, text, { stream });
  return {
    info: (message) => stream.write(`${message}\n`),
    warn: (message) => stream.write(`${paint('yellow', 'warning')} ${message}\n`),
    job: (status, label, detail) =>
      stream.write(
        `${paint(STATUS_STYLE[status], `[${status}]`.padEnd(9))} ${label}  ${paint('dim', detail)}\n`,
      ),
    progress: (label, total) =>
      stream.isTTY ? terminalBar(stream, label, total) : periodicLines(stream, label, total, intervalMs),
  };
}

function terminalBar(stream: NodeJS.WriteStream, label: string, total: number): Progress {
  const width = 24;
  return {
    update(done, detail = '') {
      const filled = Math.round((width * done) / Math.max(total, 1));
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      stream.write(`\r\x1b[2K  ${label} ${bar} ${done}/${total} ${detail}`);
    },
    end: () => stream.write('\r\x1b[2K'),
  };
}

function periodicLines(
  stream: NodeJS.WriteStream,
  label: string,
  total: number,
  intervalMs: number,
): Progress {
  let last = Date.now();
  return {
    update(done, detail = '') {
      const now = Date.now();
      if (now - last < intervalMs && done < total) return;
      last = now;
      stream.write(`  ${label} ${done}/${total} ${detail}\n`);
    },
    end: () => {},
  };
}

/** A log that keeps its lines in memory (tests read them) and prints nothing. */
export function memoryLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (message) => lines.push(message),
    warn: (message) => lines.push(`warning ${message}`),
    job: (status, label, detail) => lines.push(`[${status}] ${label} ${detail}`),
    progress: () => ({ update: () => {}, end: () => {} }),
  };
}

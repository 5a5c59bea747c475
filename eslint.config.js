// Lint: typescript-eslint's type-aware rules, plus the rules that catch the faults this code has
// had or could have: import cycles, promises nobody awaits, unused code, value imports of types.
// Formatting is Prettier's (npm run format); nothing here argues with it.
import js from '@eslint/js';
import astro from 'eslint-plugin-astro';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'reports/',
      '.cache/',
      '.smoke/',
      '.astro/',
      'node_modules/',
      'native/build/',
      '.scratch/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver()],
      // Follow imports into TypeScript files too (import-x reads only .js unless told).
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Cycles among our own modules (a package's insides are not ours to untangle).
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // Interfaces here declare `async run()` so every job reads alike; an implementation with
      // nothing to await is not a fault.
      '@typescript-eslint/require-await': 'off',
      // `const { dropped: _, ...rest } = x` is how a key is left out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_' }],
      // Arrays print as '1,2' in messages that want just that (shapes).
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowArray: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs what test() and suite() register; their promises are its to await.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'suite', 'describe', 'it'] },
          ],
        },
      ],
    },
  },
  // Astro components: the plugin's rules; their frontmatter is TypeScript, checked by
  // `astro sync && tsc`, so the type-aware rules stay with the .ts files.
  astro.configs.recommended,
  {
    files: ['**/*.astro'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // Plain JavaScript (config and install scripts) runs on Node and has no types to check.
    files: ['**/*.mjs', '**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);

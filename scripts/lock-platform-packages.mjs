// Records platform-specific optional packages in package-lock.json that npm left out.
//
// Why: npm writes a lock entry only for the optional platform packages it could fetch. Where the
// registry mirror lacks the builds for other platforms (seen for @astrojs/compiler-binding-*),
// those entries are missing and `npm ci` then refuses the lock as out of sync. Each missing entry
// is added with the os/cpu/libc that its name encodes, so `npm ci` skips it here and fetches it
// by name and version on the platform that needs it. Run after `npm install`: npm run lock:fix
import { readFileSync, writeFileSync, renameSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const PLATFORM =
  /-(android|darwin|freebsd|linux|openbsd|sunos|win32|wasm32)-?(arm64|arm|ia32|x64|wasi)?(?:-(gnu|musl|msvc|gnueabihf))?$/;

function platformFields(name) {
  const match = PLATFORM.exec(name);
  if (!match) return null;
  const [, os, cpu, abi] = match;
  if (os === 'wasm32') return { cpu: ['wasm32'] };
  const fields = { os: [os] };
  if (cpu) fields.cpu = [cpu];
  if (abi === 'gnu' || abi === 'musl') fields.libc = [abi === 'gnu' ? 'glibc' : 'musl'];
  return fields;
}

const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const added = [];
for (const entry of Object.values(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    const fields = platformFields(name);
    if (key in lock.packages || !fields || !/^\d+\.\d+\.\d+/.test(version)) continue;
    lock.packages[key] = { version, optional: true, ...fields };
    added.push(`${name}@${version}`);
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync(`${LOCK.pathname}.tmp`, `${JSON.stringify(lock, null, 2)}\n`);
renameSync(`${LOCK.pathname}.tmp`, LOCK);
console.log(added.length ? `lock: recorded ${added.join(', ')}` : 'lock: nothing missing');

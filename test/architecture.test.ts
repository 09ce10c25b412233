/** Rules of the source layout that review alone would let slip. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder of src/ a file is in ('' for files directly in src/). */
const folderOf = (file: string) => {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? (parts[0] ?? '') : '';
};

const IMPORT = /^(?:import|export)\s[^'"]*from\s+'(\.{1,2}\/[^']+)'/gm;

test('no two folders of src/ import each other, directly or through others', () => {
  const edges = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    for (const [, target] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const resolved = resolve(dirname(file), target ?? '');
      if (!resolved.startsWith(SRC)) continue;
      const to = folderOf(resolved);
      if (from === '' || to === '' || from === to) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)?.add(to);
    }
  }
  const reaches = (start: string, goal: string, seen = new Set<string>()): boolean => {
    for (const next of edges.get(start) ?? []) {
      if (next === goal) return true;
      if (!seen.has(next)) {
        seen.add(next);
        if (reaches(next, goal, seen)) return true;
      }
    }
    return false;
  };
  const cycles = [...edges.keys()].filter((folder) => reaches(folder, folder));
  assert.deepEqual(cycles, [], `folders in an import cycle: ${cycles.join(', ')}`);
});

test('no file of src/ is over 300 lines', () => {
  const long = sourceFiles(SRC)
    .map((file) => [relative(SRC, file), readFileSync(file, 'utf8').split('\n').length] as const)
    .filter(([, lines]) => lines > 300);
  assert.deepEqual(long, []);
});

test('time is read through the injected clock only', () => {
  const readers = sourceFiles(SRC)
    .filter((file) => relative(SRC, file) !== 'clock.ts')
    .filter((file) => /\b(Date\.now|performance\.now)\(/.test(readFileSync(file, 'utf8')))
    .map((file) => relative(SRC, file));
  assert.deepEqual(readers, []);
});

test('src/store/ names no accounting unit: the modules declare how they meter sessions', () => {
  const units = readdirSync(fileURLToPath(new URL('../acc_modules/', import.meta.url)))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.slice(0, -3));
  assert.ok(units.length >= 3);
  const named = sourceFiles(join(SRC, 'store')).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return units
      .filter((unit) => text.includes(`'${unit}'`) || text.includes(`"${unit}"`))
      .map((unit) => `${relative(SRC, file)} names "${unit}"`);
  });
  assert.deepEqual(named, []);
});

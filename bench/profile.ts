/**
 * `node --import tsx bench/profile.ts`: runs the built proxy (SQLite, one `call` buy) under
 * `node --cpu-prof` while wrk loads it for 5 s, then prints the functions with the most self time.
 * PROFILE_PATH (default /small, or /mib) and PROFILE_CONNECTIONS (default 50) pick the load;
 * PROFILE_TOKEN=jwt sends an ES256 JWT of a trusted verifier stand-in instead of a Keyrock token;
 * PROFILE_KEY=key-token meters on the `token` buy (with PROFILE_PATH=/sse: a tapped SSE answer).
 * Needs `npm run build` and wrk.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../config.ts';
import { freePort } from '../test/support/free-port.ts';
import { keyrockUser, startFakeIdm } from '../test/support/idm.ts';
import { databaseEnv, START_FLAGS } from '../test/support/proxy-process.ts';
import { issuerSetting, startFakeVerifier } from '../test/support/verifier.ts';
import { startChild } from './processes.ts';
import { seedBenchStore } from './seed.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

const dir = mkdtempSync(join(tmpdir(), 'ap-profile-'));
const { child: backend, port: backendPort } = await startChild('./backend.ts', {});
const idm = await startFakeIdm();
idm.users.set('buyer-token', keyrockUser('buyer', 'bench-app'));
const database = { ...defaultConfig().database, name: join(dir, 'profile.sqlite') };
await seedBenchStore(database, `http://127.0.0.1:${backendPort}`);
const verifier =
  process.env.PROFILE_TOKEN === 'jwt' ? await startFakeVerifier('vcverifier', 'ES256') : undefined;
const auth = verifier
  ? `authorization: Bearer ${await verifier.token('buyer', 'bench-app', { expiresIn: 3600 })}`
  : 'x-auth-token: buyer-token';
const port = await freePort();
const main = fileURLToPath(new URL('../dist/src/main.js', import.meta.url));
const proxy = spawn(process.execPath, [...START_FLAGS, '--cpu-prof', '--cpu-prof-dir', dir, main], {
  env: {
    ...process.env,
    ...databaseEnv(database),
    ACCOUNTING_PROXY_IDM_URL: idm.url,
    ACCOUNTING_PROXY_PORT: String(port),
    ACCOUNTING_PROXY_LOG_LEVEL: 'warn',
    ...(process.env.PROFILE_KEY === 'key-token'
      ? { ACCOUNTING_PROXY_MODULES: 'call,megabyte,millisecond,token' }
      : {}),
    ...(verifier
      ? { ACCOUNTING_PROXY_JWT_ISSUERS: JSON.stringify([issuerSetting(verifier)]) }
      : {}),
  },
  stdio: 'inherit',
});
await new Promise((resolve) => setTimeout(resolve, 1500));
const wrk = spawn(
  'wrk',
  [
    '-t1',
    `-c${process.env.PROFILE_CONNECTIONS ?? 50}`,
    '-d5s',
    '-H',
    auth,
    '-H',
    `x-api-key: ${process.env.PROFILE_KEY ?? 'key-call'}`,
    `http://127.0.0.1:${port}/bench${process.env.PROFILE_PATH ?? '/small'}`,
  ],
  { stdio: 'inherit' },
);
await new Promise((resolve) => wrk.once('exit', resolve));
proxy.kill('SIGINT');
await new Promise((resolve) => proxy.once('exit', resolve));
backend.kill();
await idm.close();
await verifier?.close();

const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile')) ?? '';
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
};
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const frame = nodes.get(id)?.callFrame;
  const name = `${frame?.functionName || '(anonymous)'} ${frame?.url.split('/').slice(-2).join('/')}:${frame?.lineNumber}`;
  self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
for (const [name, time] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`${((time / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
}
// PROFILE_KEEP: where to keep the profile (for DevTools or a closer look).
if (process.env.PROFILE_KEEP) copyFileSync(join(dir, file), process.env.PROFILE_KEEP);
rmSync(dir, { recursive: true, force: true });

/** `npm run sandbox` as a newcomer runs it: every command it prints works as printed. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from './support/client.ts';
import { freePort } from './support/free-port.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('the sandbox turns a call into a usage record, and its printed commands work as printed', async () => {
  const [port, opsPort] = [await freePort(), await freePort()];
  const sandbox = spawn(process.execPath, ['--import', 'tsx', 'scripts/sandbox.ts'], {
    cwd: ROOT,
    env: { ...process.env, SANDBOX_PORT: String(port), SANDBOX_OPS_PORT: String(opsPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  sandbox.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  sandbox.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => sandbox.once('exit', resolve));
  try {
    await eventually(() => output.includes('Ctrl-C stops'), 60_000);
    const tried = output.slice(output.indexOf('Try it'));
    const commands = tried
      .split('\n')
      .filter((line) => line.startsWith('  $ '))
      .map((line) => line.slice(4));
    assert.equal(commands.length, 4, output);
    const run = (command: string) => {
      const result = spawnSync('sh', ['-c', command], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(result.status, 0, `${command}: ${result.stderr}`);
      return result.stdout;
    };
    const [metered = '', refused = '', usage = '', metrics = ''] = commands;
    assert.equal((JSON.parse(run(metered)) as { url: string }).url, '/echo/hello');
    assert.deepEqual(JSON.parse(run(refused)), { error: 'Undefined "X-API-KEY" header' });
    await eventually(
      () => output.includes('[marketplace] usage record #0 received: 1 call'),
      30_000,
    );
    assert.match(run(usage), /sandbox-order/);
    assert.match(
      run(metrics),
      /accounting_proxy_requests_total\{service="\/sandbox",outcome="forwarded",code=""\} 1/,
    );
  } finally {
    sandbox.kill('SIGINT');
    assert.equal(await exited, 0, output);
  }
});

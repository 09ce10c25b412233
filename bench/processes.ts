/** The benchmarks' child processes: starting the TypeScript ones, and what CPU they used. */
import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/free-port.ts';

/**
 * Forks `file` (relative to bench/) through tsx on a free port (its PORT) and waits for its
 * ready message.
 */
export async function startChild(
  file: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    env: { ...process.env, ...env, PORT: String(port) },
    execArgv: ['--import', 'tsx'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${file} exited ${code}`)));
  });
  return { child, port };
}

/** Fields of /proc/<pid>/stat after the command name (field 3 is index 0). */
const statOf = (pid: number | string) =>
  readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];

/** CPU time (user + system) a process and its live children (cluster workers) used, in µs. */
export function cpuMicros(pid: number | undefined): number {
  const own = (fields: string[]) => (Number(fields[11]) + Number(fields[12])) * 10_000;
  let total = own(statOf(pid ?? 0));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statOf(entry);
      if (Number(fields[1]) === pid) total += own(fields);
    } catch {
      // Gone between the listing and the read.
    }
  }
  return total;
}

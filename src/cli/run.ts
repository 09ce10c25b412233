import { Command, CommanderError } from 'commander';
import { AccountingProxyError } from '../errors.ts';
import { packageVersion } from '../package-version.ts';
import { registerAddProduct } from './commands/add-product.ts';
import { registerAddService } from './commands/add-service.ts';
import {
  registerAddAdmin,
  registerBindAdmin,
  registerDeleteAdmin,
  registerUnbindAdmin,
} from './commands/admins.ts';
import { registerDeleteService } from './commands/delete-service.ts';
import { registerGetAdmins } from './commands/get-admins.ts';
import { registerGetService } from './commands/get-service.ts';
import { registerReport } from './commands/report.ts';
import { registerResume } from './commands/resume.ts';
import { registerSetLimits } from './commands/set-limits.ts';
import { registerSetOfferings } from './commands/set-offerings.ts';
import { registerUsage } from './commands/usage.ts';
import type { CliIo } from './context.ts';

/** Commander's error messages end up on one line, like every other CLI error. */
const output = (io: CliIo) => ({
  writeOut: io.stdout,
  writeErr: io.stderr,
  outputError: (text: string, write: (text: string) => void) =>
    write(`${text.trimEnd().replace(/\n+/g, ' ')}\n`),
});

function buildProgram(io: CliIo): Command {
  const program = new Command('cli/cli')
    .description('Configuration tool for the accounting proxy')
    .version(packageVersion())
    .configureOutput(output(io))
    .exitOverride();
  for (const register of [
    registerAddService,
    registerGetService,
    registerDeleteService,
    registerSetOfferings,
    registerSetLimits,
    registerAddAdmin,
    registerDeleteAdmin,
    registerBindAdmin,
    registerUnbindAdmin,
    registerGetAdmins,
    registerUsage,
    registerReport,
    registerResume,
    registerAddProduct,
  ]) {
    register(program, io);
  }
  for (const command of program.commands) {
    command.configureOutput(output(io)).exitOverride();
  }
  return program;
}

/** Errors a user can fix get one line; anything else is a bug and says so, still on one line. */
function describe(error: unknown): string {
  if (error instanceof AccountingProxyError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  return `unexpected failure: ${message.split('\n')[0]}`;
}

/** Runs one CLI invocation (`argv` without node and script) and returns its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return 1;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    // Commander has already printed its own one-line message (or the help, with exit code 0).
    if (error instanceof CommanderError) return error.exitCode;
    io.stderr(`error: ${describe(error)}\n`);
    return 1;
  }
}

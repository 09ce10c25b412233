import type { Command } from 'commander';

const collect = (value: string, previous: string[]) => [...previous, value];

/** `--offering <id>` and `--product-spec <id>`, each repeatable: a service's TMF catalog ids. */
export function catalogOptions(command: Command): Command {
  return command
    .option(
      '--offering <id>',
      'TMF product offering whose products are buys of this service (tmf4 mode; repeatable)',
      collect,
      [],
    )
    .option(
      '--product-spec <id>',
      'TMF product specification whose products are buys of this service (tmf4 mode; repeatable)',
      collect,
      [],
    );
}

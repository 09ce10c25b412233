import type { Command } from 'commander';
import { proxyError } from '../../errors.ts';
import { describeLimits, type Limits, parseQuota, parseRate } from '../../limits/limits.ts';
import { validatePublicPath } from '../../services/service-input.ts';
import type { Store } from '../../store/store.ts';
import { type CliIo, withStore } from '../context.ts';

interface SetLimitsOptions {
  rate?: string;
  quota?: string;
  order?: string;
  product?: string;
  clear?: boolean;
}

export function registerSetLimits(program: Command, io: CliIo): void {
  program
    .command('setLimits')
    .description(
      "set a service's rate limit and quota, or one buy's (--order and --product), over what it had; --clear removes them",
    )
    .argument('<publicPath>')
    .option('--rate <rate>', 'requests per window: <n>/<second|minute|hour>')
    .option('--quota <quota>', "in the buy's unit per UTC period: <amount>/<day|month|total>")
    .option('--order <orderId>', 'only the buy of this order (with --product)')
    .option('--product <productId>', 'only the buy of this product (with --order)')
    .option('--clear', 'remove the limits (of the buy: its service’s apply again)')
    .action(async (publicPath: string, options: SetLimitsOptions) => {
      await withStore(io, async ({ store, print }) => {
        const path = validatePublicPath(publicPath);
        const buy = buyOf(options);
        const given = limitsOf(options);
        if (options.clear && (given.rate || given.quota)) {
          throw proxyError('LIMITS_INVALID', '--clear takes no --rate or --quota.');
        }
        if (!options.clear && !given.rate && !given.quota) {
          throw proxyError('LIMITS_INVALID', 'Give --rate, --quota or --clear.');
        }
        const own = buy
          ? await ownLimits(store, path, buy)
          : (await store.listLimits()).find((e) => e.publicPath === path && !e.apiKey)?.limits;
        const limits = options.clear ? undefined : { ...own, ...given };
        await store.setLimits(path, limits, buy);
        const whose = buy
          ? `The buy of order "${buy.orderId}" and product "${buy.productId}" on ${path}`
          : `Service ${path}`;
        print(`${whose}: ${options.clear ? 'no limits of its own' : describeLimits(limits)}.`);
      });
    });
}

function buyOf(options: SetLimitsOptions) {
  if (options.order === undefined && options.product === undefined) return undefined;
  if (options.order === undefined || options.product === undefined) {
    throw proxyError('LIMITS_INVALID', '--order and --product name a buy together.');
  }
  return { orderId: options.order, productId: options.product };
}

function limitsOf(options: SetLimitsOptions): Limits {
  return {
    ...(options.rate !== undefined && { rate: parseRate(options.rate) }),
    ...(options.quota !== undefined && { quota: parseQuota(options.quota) }),
  };
}

/** A buy's own limits: those of any key of that order and product (they are set together). */
async function ownLimits(
  store: Store,
  publicPath: string,
  buy: { orderId: string; productId: string },
): Promise<Limits | undefined> {
  const keys = new Set(
    (await store.listBuys({ publicPath }))
      .filter((b) => b.orderId === buy.orderId && b.productId === buy.productId)
      .map((b) => b.apiKey),
  );
  return (await store.listLimits()).find((e) => e.apiKey !== undefined && keys.has(e.apiKey))
    ?.limits;
}

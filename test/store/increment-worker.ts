// Child process of the contract suite: 1,000 increments of 0.5 to buy k1, all in flight at once.
import type { Config } from '../../config.ts';
import { openStore } from '../../src/store/open.ts';

const database = JSON.parse(process.env.STORE_DATABASE ?? '') as Config['database'];
const store = await openStore(database);
await Promise.all(
  Array.from({ length: 1000 }, () => store.addUsage([{ apiKey: 'k1', amount: 0.5 }])),
);
await store.close();

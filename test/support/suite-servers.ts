import { after, before } from 'node:test';
import { type FakeBackend, startFakeBackend } from './backend.ts';
import { type FakeIdm, keyrockUser, startFakeIdm } from './idm.ts';

export interface SuiteServers {
  /** Keyrock stand-in that knows `alice-token` (user alice of application app-1). */
  idm: FakeIdm;
  /** The backend behind the proxy. */
  api: FakeBackend;
}

/** Starts the IdM and backend before the calling suite's tests and closes them after. */
export function suiteServers(): SuiteServers {
  const servers = {} as SuiteServers;
  before(async () => {
    [servers.idm, servers.api] = await Promise.all([startFakeIdm(), startFakeBackend()]);
    servers.idm.users.set('alice-token', keyrockUser('alice', 'app-1'));
  });
  after(async () => {
    await Promise.all([servers.idm.close(), servers.api.close()]);
  });
  return servers;
}

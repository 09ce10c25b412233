import { listenOnLoopback, type TestServer } from './http-server.ts';

/** A Keyrock user as `GET /user?access_token=` returns it. */
export interface KeyrockUser {
  id: string;
  username?: string;
  displayName: string;
  email: string;
  app_id: string;
  roles: { id: string; name: string }[];
  organizations?: unknown[];
}

export interface FakeIdm extends TestServer {
  /** token → user; tokens not here are rejected with 401 like Keyrock does. */
  users: Map<string, KeyrockUser>;
  /** Number of `/user` calls, per token. */
  calls: Map<string, number>;
  totalCalls(): number;
  /** While set, every call answers this status (e.g. 500) instead. */
  failWith: number | undefined;
}

export function keyrockUser(id: string, appId: string, roles: string[] = []): KeyrockUser {
  return {
    organizations: [],
    displayName: `${id} display`,
    roles: roles.map((role) => ({ id: role, name: role })),
    app_id: appId,
    email: `${id}@test.com`,
    id,
    username: id,
  };
}

/** A stand-in for the FIWARE IdM's token validation endpoint, faithful to its wire format. */
export async function startFakeIdm(): Promise<FakeIdm> {
  const users = new Map<string, KeyrockUser>();
  const calls = new Map<string, number>();
  const idm = {
    users,
    calls,
    failWith: undefined as number | undefined,
    totalCalls: () => [...calls.values()].reduce((a, b) => a + b, 0),
  };
  const server = await listenOnLoopback((req, res) => {
    const url = new URL(req.url ?? '/', 'http://idm');
    if (req.method !== 'GET' || url.pathname !== '/user') {
      res.writeHead(404).end();
      return;
    }
    const token = url.searchParams.get('access_token') ?? '';
    calls.set(token, (calls.get(token) ?? 0) + 1);
    if (idm.failWith !== undefined) {
      res.writeHead(idm.failWith, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"Internal error","code":500}}');
      return;
    }
    const user = users.get(token);
    if (!user) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"Invalid token","code":401,"title":"Unauthorized"}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(user));
  });
  return Object.assign(idm, server);
}

import { proxyError } from '../errors.ts';
import { createJsonClient, type JsonResponse } from '../http/json-client.ts';

/** The part of a Keyrock `GET /user` answer the proxy uses. */
export interface IdmUser {
  id: string;
  displayName: string;
  email: string;
  appId: string;
  roles: { id: string; name: string }[];
  /** The organizations the user acts for in this application (Keyrock's `organizations`). */
  organizations: { id: string; name: string }[];
  /**
   * A data-space JWT's `aud`: the service ids the token is for, checked instead of `appId`. Absent
   * for Keyrock users (Keyrock's answer or JWT), whose application is `appId`.
   */
  audiences?: readonly string[];
}

/** Whether the user's token was issued for the service's application. */
export const isForApplication = (user: IdmUser, appId: string) =>
  user.audiences ? user.audiences.includes(appId) : user.appId === appId;

export interface IdmClient {
  /**
   * The token's user, `undefined` for a token the IdM rejects; throws IDM_UNAVAILABLE when the IdM
   * is unreachable, timed out or failing (5xx), which is not a bad token.
   */
  lookup(token: string): Promise<IdmUser | undefined>;
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** The user of a Keyrock `GET /user` answer, or of a Keyrock JWT's payload (the same document). */
export function keyrockUser(body: unknown): IdmUser | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const json = body as Record<string, unknown>;
  if (typeof json.id !== 'string' || json.id === '') return undefined;
  const roles = Array.isArray(json.roles) ? json.roles : [];
  const organizations = Array.isArray(json.organizations) ? json.organizations : [];
  return {
    id: json.id,
    displayName: text(json.displayName),
    email: text(json.email),
    appId: text(json.app_id),
    roles: roles
      .filter((role): role is Record<string, unknown> => typeof role === 'object' && role !== null)
      .map((role) => ({ id: text(role.id), name: text(role.name) })),
    organizations: organizations
      .filter((org): org is Record<string, unknown> => typeof org === 'object' && org !== null)
      .map((org) => ({ id: text(org.id), name: text(org.name) }))
      .filter((org) => org.id !== ''),
  };
}

export function createIdmClient(options: { baseUrl: string; timeoutMs: number }): IdmClient {
  const http = createJsonClient(options);
  return {
    async lookup(token) {
      let response: JsonResponse;
      try {
        response = await http.get(`/user?access_token=${encodeURIComponent(token)}`);
      } catch (error) {
        throw proxyError('IDM_UNAVAILABLE').causedBy(error);
      }
      if (response.status >= 500) {
        throw proxyError('IDM_UNAVAILABLE').causedBy(new Error(`IdM answered ${response.status}`));
      }
      if (response.status < 200 || response.status >= 300) return undefined;
      return keyrockUser(response.data);
    },
  };
}

import type { OutgoingHttpHeaders } from 'node:http';
import type { Config } from '../../config.ts';
import type { IdmUser } from './idm-client.ts';

// Header values may only hold visible Latin-1; anything else (a display name in Greek, say) is
// percent-encoded rather than dropped or allowed to crash the request.
const SAFE_HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const headerValue = (value: string) =>
  SAFE_HEADER_VALUE.test(value) ? value : encodeURIComponent(value);

type Roles = Config['oauth2']['roles'];

// The token validator hands out one user object per cached token, so the headers are computed
// once per token rather than once per request.
const computed = new WeakMap<
  IdmUser,
  { token: string; roles: Roles; headers: Readonly<OutgoingHttpHeaders> }
>();

/**
 * The identity headers the original proxy gives backends. X-Roles lists, each followed by a comma,
 * the user's role ids that are one of the configured admin, seller or customer roles.
 */
export function userHeaders(
  user: IdmUser,
  token: string,
  roles: Roles,
): Readonly<OutgoingHttpHeaders> {
  const known = computed.get(user);
  if (known && known.token === token && known.roles === roles) return known.headers;
  const headers = Object.freeze(buildUserHeaders(user, token, roles));
  computed.set(user, { token, roles, headers });
  return headers;
}

function buildUserHeaders(user: IdmUser, token: string, roles: Roles): OutgoingHttpHeaders {
  const known = new Set([roles.admin, roles.seller, roles.customer]);
  let xRoles = '';
  for (const role of user.roles) {
    const id = role.id.toLowerCase();
    if (known.has(id)) xRoles += `${id},`;
  }
  return {
    authorization: `Bearer ${headerValue(token)}`,
    'x-nick-name': headerValue(user.id),
    'x-email': headerValue(user.email),
    'x-display-name': headerValue(user.displayName),
    'x-roles': headerValue(xRoles),
  };
}

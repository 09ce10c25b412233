import type { OutgoingHttpHeaders } from 'node:http';
import type { Config } from '../../config.ts';
import type { IdmUser } from './idm-client.ts';

// Header values may only hold visible Latin-1; anything else (a display name in Greek, say) is
// percent-encoded rather than dropped or allowed to crash the request.
const SAFE_HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const headerValue = (value: string) =>
  SAFE_HEADER_VALUE.test(value) ? value : encodeURIComponent(value);

/**
 * The identity headers the original proxy gives backends. X-Roles lists, each followed by a comma,
 * the user's role ids that are one of the configured admin, seller or customer roles.
 */
export function userHeaders(
  user: IdmUser,
  token: string,
  roles: Config['oauth2']['roles'],
): OutgoingHttpHeaders {
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

import type { JWTPayload } from 'jose';
import type { IdmUser } from './idm-client.ts';

/** The value at a dotted claim path (`vc.credentialSubject.mandate`), if every step exists. */
export function claimAt(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const step of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    if (!Object.hasOwn(value, step)) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/** The first of the paths that holds a non-empty string. */
export function firstText(payload: JWTPayload, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const value = claimAt(payload, path);
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

// Where the header values the backend receives come from, in each verifier's credential.
const EMAIL_CLAIMS = [
  'email',
  'verifiableCredential.credentialSubject.email',
  'vc.credentialSubject.mandate.mandatee.email',
];
const NAME_CLAIMS = [
  'displayName',
  'name',
  'verifiableCredential.credentialSubject.name',
  'vc.credentialSubject.mandate.mandator.organization',
];

function rolesOf(payload: JWTPayload): IdmUser['roles'] {
  const roles = payload.roles;
  if (!Array.isArray(roles)) return [];
  return roles.flatMap((role) => {
    if (typeof role === 'string' && role !== '') return [{ id: role, name: role }];
    if (typeof role !== 'object' || role === null) return [];
    const { id, name } = role as Record<string, unknown>;
    if (typeof id !== 'string' || id === '') return [];
    return [{ id, name: typeof name === 'string' ? name : id }];
  });
}

const audiencesOf = (payload: JWTPayload) =>
  typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);

/** A data-space token's user: its customer key, the service ids it is for, what else it tells. */
export function dataSpaceUser(payload: JWTPayload, customerKey: string): IdmUser {
  return {
    id: customerKey,
    displayName: firstText(payload, NAME_CLAIMS) ?? '',
    email: firstText(payload, EMAIL_CLAIMS) ?? '',
    appId: '',
    roles: rolesOf(payload),
    organizations: [],
    audiences: audiencesOf(payload).filter((aud) => typeof aud === 'string'),
  };
}

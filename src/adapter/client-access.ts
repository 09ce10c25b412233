import { randomUUID } from 'node:crypto';
import type { ClientAccess } from '../store/adapter.ts';
import { newPassword } from './secrets.ts';

/** A new buy's credentials for an adapter service: a UUID names it, 192 random bits prove it. */
export const newClientAccess = (): ClientAccess => ({
  clientKey: randomUUID(),
  clientPassword: newPassword(),
});

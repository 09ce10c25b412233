import { randomBytes } from 'node:crypto';

/** A new API key: 128 random bits, hex. Unlike the original's SHA-1 of public ids, unguessable. */
export function generateApiKey(): string {
  return randomBytes(16).toString('hex');
}

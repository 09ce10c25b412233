import { InvalidArgumentError } from 'commander';

/** IdM user ids are opaque, but never empty or padded. */
export function parseUserId(raw: string): string {
  const userId = raw.trim();
  if (userId === '' || /\s/.test(userId)) {
    throw new InvalidArgumentError('a user id is a non-empty word without spaces.');
  }
  return userId;
}

import { z } from 'zod';
import { proxyError } from '../errors.ts';

const text = z.string().min(1);

export const buyIdentitySchema = {
  orderId: text,
  productId: text,
  customer: text,
};

export function newBuySchema(units: readonly string[]) {
  return z.strictObject({
    ...buyIdentitySchema,
    productSpecification: z.strictObject({
      url: text,
      unit: z.enum(units as [string, ...string[]]),
      recordType: text,
    }),
  });
}

export const deleteBuySchema = z.strictObject({
  ...buyIdentitySchema,
  productSpecification: z.strictObject({ url: text }),
});

export const checkUrlSchema = z.object({ url: z.string().optional() });

/** A zod issue in the words of the original's validator (Joi), which marketplace scripts know. */
function describeIssue(issue: z.core.$ZodIssue & { input?: unknown }): string {
  const field = `"${String(issue.path.at(-1) ?? 'value')}"`;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `${field} is required`;
      return `${field} must be ${issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}`;
    case 'too_small':
      return `${field} is not allowed to be empty`;
    case 'invalid_value':
      return `${field} must be one of [${issue.values.map(String).join(', ')}]`;
    case 'unrecognized_keys':
      return `"${issue.keys[0]}" is not allowed`;
    default:
      return `${field} ${issue.message}`;
  }
}

/** The parsed body, or a 422 `Invalid json: …` naming the first problem. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body, { reportInput: true });
  if (result.success) return result.data;
  const [first] = result.error.issues;
  throw proxyError('ADMIN_SCHEMA', first ? describeIssue(first) : 'invalid body');
}

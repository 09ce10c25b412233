/**
 * Validates bodies against the marketplace's own OpenAPI (Swagger 2.0) files (copies in
 * ./openapi/, see its README), with a real JSON Schema validator: what the proxy sends must be
 * what a tmforum-api server would take.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

const SPECS = new URL('./openapi/', import.meta.url);

export type TmfModule =
  | 'usage-management'
  | 'product-inventory'
  | 'product-catalog'
  | 'party-catalog';

const validators = new Map<string, ValidateFunction>();

/** The validator of one definition (`Usage_Create`, `EventSubscriptionInput`, …) of a module. */
export function definitionValidator(module: TmfModule, definition: string): ValidateFunction {
  const key = `${module}#${definition}`;
  let validate = validators.get(key);
  if (!validate) {
    const spec = JSON.parse(readFileSync(new URL(`${module}/api.json`, SPECS), 'utf8')) as {
      definitions: Record<string, unknown>;
    };
    if (!(definition in spec.definitions)) throw new Error(`${module} has no ${definition}`);
    // Swagger 2.0 keywords (discriminator, example) are not JSON Schema's: not strict.
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    validate = ajv.compile({
      definitions: spec.definitions,
      $ref: `#/definitions/${definition}`,
    });
    validators.set(key, validate);
  }
  return validate;
}

/** The problems of `body` against the definition, one line each; empty when it is valid. */
export function schemaErrors(module: TmfModule, definition: string, body: unknown): string[] {
  const validate = definitionValidator(module, definition);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
}

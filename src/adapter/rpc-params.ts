/**
 * Positional parameters decoded as go-ethereum's RPC server decodes them into a Go method's
 * arguments (its `parsePositionalArguments`), with the same error texts: an adapter written
 * against Privatix sees the same answer to the same mistake.
 */

/** A Go argument type of a `sess_*` method. */
export type ParamType = 'string' | 'uint16' | 'uint64' | 'bool' | 'stringMap';

export interface ParamSpec {
  type: ParamType;
  /** A Go pointer argument: may be left out or null. */
  optional?: boolean;
}

const GO_TYPE: Record<ParamType, string> = {
  string: 'string',
  uint16: 'uint16',
  uint64: 'uint64',
  bool: 'bool',
  stringMap: 'map[string]string',
};

/** What encoding/json calls a JSON value's kind in "cannot unmarshal <kind>". */
const kindOf = (value: unknown): string => {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  return typeof value === 'boolean' ? 'bool' : typeof value;
};

export class InvalidParams extends Error {}

function decode(value: unknown, spec: ParamSpec, index: number): unknown {
  const fail = (detail: string): never => {
    throw new InvalidParams(`invalid argument ${index}: json: ${detail}`);
  };
  const cannot = () =>
    fail(`cannot unmarshal ${kindOf(value)} into Go value of type ${GO_TYPE[spec.type]}`);
  switch (spec.type) {
    case 'string':
      return typeof value === 'string' ? value : cannot();
    case 'bool':
      return typeof value === 'boolean' ? value : cannot();
    case 'uint16':
    case 'uint64': {
      if (typeof value !== 'number') return cannot();
      const max = spec.type === 'uint16' ? 0xffff : Number.MAX_SAFE_INTEGER;
      if (!Number.isInteger(value) || value < 0 || value > max) {
        return fail(`cannot unmarshal number ${value} into Go value of type ${spec.type}`);
      }
      return value;
    }
    case 'stringMap': {
      if (typeof value !== 'object' || Array.isArray(value) || value === null) return cannot();
      for (const entry of Object.values(value)) {
        if (typeof entry !== 'string') {
          fail(`cannot unmarshal ${kindOf(entry)} into Go value of type string`);
        }
      }
      return value;
    }
  }
}

/**
 * The arguments of `params` for `specs`: an array (or absent, or null, when nothing is required).
 * Throws InvalidParams with go-ethereum's message.
 */
export function decodeParams(params: unknown, specs: readonly ParamSpec[]): unknown[] {
  let given: unknown[];
  if (params === undefined || params === null) given = [];
  else if (Array.isArray(params)) given = params;
  else throw new InvalidParams('non-array args');
  // In go-ethereum's order: each given argument in turn, then the ones left out.
  const args = given.map((value, index) => {
    const spec = specs[index];
    if (!spec) throw new InvalidParams(`too many arguments, want at most ${specs.length}`);
    if (value === null) {
      if (spec.optional) return undefined;
      throw new InvalidParams(`missing value for required argument ${index}`);
    }
    return decode(value, spec, index);
  });
  for (let index = given.length; index < specs.length; index++) {
    if (!specs[index]?.optional) {
      throw new InvalidParams(`missing value for required argument ${index}`);
    }
    args.push(undefined);
  }
  return args;
}

/**
 * The access line written straight into bytes: one pass over each field, no string built. Every
 * exchange writes one line, and a line built as a string first costs its concatenation, its
 * flattening and the copy into the block, and leaves garbage that the young generation pays for
 * (bench/README.md, item 15): here only the bytes themselves are written.
 */

/** What a line may take at most, from its strings' lengths: the room to ask for before writing. */
export function lineBound(strings: number): number {
  // A UTF-16 code unit is at most 6 bytes of JSON (`\u001f`); the names, punctuation and the
  // numbers (25 bytes each at most, as JSON writes a double) fit in the rest.
  return strings * 6 + 1024;
}

/** Writes a text known to be printable ASCII (the line's own names and punctuation). */
export function putAscii(bytes: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
  return at;
}

/** Writes `text` as a JSON string. */
export function putString(bytes: Buffer, at: number, text: string): number {
  const start = at;
  bytes[at++] = 0x22;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // Anything JSON escapes, and anything beyond ASCII, goes the general way.
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) {
      return start + bytes.write(JSON.stringify(text), start);
    }
    bytes[at++] = code;
  }
  bytes[at++] = 0x22;
  return at;
}

/** Writes a non-negative safe integer. */
function putDigits(bytes: Uint8Array, at: number, value: number): number {
  let digits = 1;
  for (let power = 10; power <= value; power *= 10) digits++;
  const end = at + digits;
  let rest = value;
  for (let i = end - 1; i >= at; i--) {
    const next = Math.floor(rest / 10);
    bytes[i] = 0x30 + (rest - next * 10);
    rest = next;
  }
  return end;
}

/** Writes a number as JSON does (`null` for what JSON has no number for). */
export function putNumber(bytes: Uint8Array, at: number, value: number): number {
  if (value >= 0 && Number.isSafeInteger(value)) return putDigits(bytes, at, value);
  return putAscii(bytes, at, JSON.stringify(value));
}

/** Writes a duration in milliseconds to the microsecond (three decimals at most). */
export function putMillis(bytes: Uint8Array, at: number, milliseconds: number): number {
  const micros = Math.round(milliseconds * 1000);
  if (!(micros >= 0 && Number.isSafeInteger(micros))) return putNumber(bytes, at, milliseconds);
  const whole = Math.floor(micros / 1000);
  let fraction = micros - whole * 1000;
  let end = putDigits(bytes, at, whole);
  if (fraction === 0) return end;
  bytes[end++] = 0x2e;
  let unit = 100;
  while (fraction > 0) {
    const digit = Math.floor(fraction / unit);
    bytes[end++] = 0x30 + digit;
    fraction -= digit * unit;
    unit /= 10;
  }
  return end;
}

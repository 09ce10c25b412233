/** The media type of a Content-Type value, lower case without parameters ('' for none). */
export const mediaTypeOf = (contentType: unknown): string =>
  String(contentType ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase() ?? '';

/** JSON, or a JSON-based type (`application/ld+json`, `application/geo+json`, …). */
export const isJsonMediaType = (type: string) =>
  type === 'application/json' || type.endsWith('+json');

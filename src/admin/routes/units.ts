import type { RequestHandler } from 'express';

/** `GET units`: the configured units, in configuration order. Open: the marketplace sends no credentials. */
export function unitsRoute(units: readonly string[]): RequestHandler {
  const body = { units: [...units] };
  return (_req, res) => {
    res.status(200).json(body);
  };
}

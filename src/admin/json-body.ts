import express, { type RequestHandler } from 'express';
import { proxyError } from '../errors.ts';

const parseJson = express.json({ limit: '100kb', strict: false, type: () => true });

/** A JSON body or nothing: 415 for another content type; parse errors are mapped by the error handler. */
export const jsonBody: RequestHandler = (req, res, next) => {
  if (!req.is('application/json')) return next(proxyError('ADMIN_CONTENT_TYPE'));
  // An empty body is not JSON (body-parser would read it as {}).
  if (req.headers['content-length'] === '0') return next(proxyError('INVALID_JSON'));
  parseJson(req, res, next);
};

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { extractToken } from '../../src/auth/extract-token.ts';
import { isProxyError } from '../../src/errors.ts';
import { RoutingTable } from '../../src/proxy/routing-table.ts';
import type { Service } from '../../src/store/store.ts';

const service = (publicPath: string): Service => ({
  publicPath,
  url: 'http://backend',
  appId: 'app',
  methods: ['GET'],
  isContextBroker: false,
});

describe('routing table', () => {
  const table = new RoutingTable({
    services: [service('/public1'), service('/a/b?x=1'), service('/A')],
    bindings: [{ adminId: 'root', publicPath: '/public1' }],
    buys: [
      {
        apiKey: 'k1',
        publicPath: '/public1',
        orderId: 'o',
        productId: 'p',
        customer: 'c',
        unit: 'call',
        recordType: 'callusage',
      },
    ],
    limits: [],
  });
  const rest = (url: string) => table.route(url)?.rest;

  test('routes by first segment and keeps the rest exactly as sent', () => {
    assert.equal(rest('/public1/rest/call'), '/rest/call');
    // The bare public path is itself an exact match: the backend gets the service URL (or `/`).
    assert.equal(rest('/public1'), '');
    assert.equal(rest('/public1/'), '/');
    assert.equal(rest('/public1?x=1'), '/?x=1');
    assert.equal(rest('/public1//a%2F?q=a+b&c[d]=3'), '//a%2F?q=a+b&c[d]=3');
  });

  test('matches a complete path with its query exactly, and nothing else', () => {
    assert.equal(table.route('/a/b?x=1')?.service.publicPath, '/a/b?x=1');
    assert.equal(rest('/a/b?x=1'), '');
    assert.equal(table.route('/a/b?x=2'), undefined);
    assert.equal(table.route('/a/b'), undefined);
  });

  test('is case-sensitive and does not match prefixes of a segment', () => {
    assert.equal(table.route('/PUBLIC1/x'), undefined);
    assert.equal(table.route('/public10/x'), undefined);
    assert.equal(table.route('/A/x')?.service.publicPath, '/A');
  });

  test('knows admins and finds buys only by their exact key', () => {
    assert.ok(table.route('/public1')?.entry.admins.has('root'));
    assert.equal(table.buy('k1')?.customer, 'c');
    assert.equal(table.buy('k2'), undefined);
    assert.equal(table.buy('K1'), undefined);
  });
});

describe('token extraction', () => {
  test('prefers X-Auth-Token, then a bearer Authorization in any case', () => {
    assert.equal(extractToken({ 'x-auth-token': 't1', authorization: 'Bearer t2' }), 't1');
    assert.equal(extractToken({ authorization: 'bearer t2' }), 't2');
    assert.equal(extractToken({ authorization: 'BEARER t3' }), 't3');
  });

  test('refuses other schemes naming them in lower case, and a missing token', () => {
    const basic = extractToken({ authorization: 'Basic abc' });
    assert.ok(isProxyError(basic, 'TOKEN_TYPE'));
    assert.equal(basic.message, 'Invalid Auth-Token type (basic)');
    assert.ok(isProxyError(extractToken({}), 'TOKEN_MISSING'));
  });
});

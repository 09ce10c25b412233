import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isProxyError } from '../../src/errors.ts';
import { planAdmission, rateLimitFields, retryAfter } from '../../src/limits/admission.ts';
import {
  describeLimits,
  effectiveLimits,
  parseQuota,
  parseRate,
  quotaPeriodAt,
} from '../../src/limits/limits.ts';
import { countBuysOverQuota } from '../../src/limits/over-quota.ts';

describe('limits as values', () => {
  test('rates and quotas parse, and anything else is LIMITS_INVALID', () => {
    assert.deepEqual(parseRate('5/second'), { limit: 5, per: 'second' });
    assert.deepEqual(parseRate(' 100/hour '), { limit: 100, per: 'hour' });
    assert.deepEqual(parseQuota('10000/month'), { amount: 10000, period: 'month' });
    assert.deepEqual(parseQuota('2.5/total'), { amount: 2.5, period: 'total' });
    assert.deepEqual(parseQuota('0/day'), { amount: 0, period: 'day' });
    for (const bad of ['0/second', '1.5/second', '5/week', '5', '-1/minute', 'x/hour']) {
      assert.throws(
        () => parseRate(bad),
        (e) => isProxyError(e, 'LIMITS_INVALID'),
        bad,
      );
    }
    for (const bad of ['-1/day', '5/year', '1e3/day', '/month', '5/']) {
      assert.throws(
        () => parseQuota(bad),
        (e) => isProxyError(e, 'LIMITS_INVALID'),
        bad,
      );
    }
    assert.equal(
      describeLimits({ rate: parseRate('5/second'), quota: parseQuota('9/day') }),
      'rate 5/second, quota 9/day',
    );
    assert.equal(describeLimits(undefined), 'none');
  });

  test("a buy's own limits override its service's kind by kind", () => {
    const rate = parseRate('5/second');
    const quota = parseQuota('10/month');
    const own = parseQuota('1/total');
    assert.deepEqual(effectiveLimits({ rate, quota }, { quota: own }), { rate, quota: own });
    assert.deepEqual(effectiveLimits(undefined, { rate }), { rate });
    assert.equal(effectiveLimits(undefined, undefined), undefined);
  });

  test('periods are UTC calendar periods, their keys ordered as they are', () => {
    const at = Date.parse('2026-02-28T23:59:59.999Z');
    assert.deepEqual(quotaPeriodAt('day', at), {
      key: '2026-02-28',
      endsAt: Date.parse('2026-03-01T00:00:00Z'),
    });
    assert.deepEqual(quotaPeriodAt('month', at), {
      key: '2026-02',
      endsAt: Date.parse('2026-03-01T00:00:00Z'),
    });
    assert.deepEqual(
      quotaPeriodAt('month', Date.parse('2026-12-15T00:00:00Z')).endsAt,
      Date.parse('2027-01-01T00:00:00Z'),
    );
    assert.deepEqual(quotaPeriodAt('total', at), { key: 'total', endsAt: undefined });
    assert.ok(quotaPeriodAt('day', at).key < quotaPeriodAt('day', at + 1).key);
  });

  test('the RateLimit fields and Retry-After of an answer', () => {
    const now = Date.parse('2026-12-06T10:00:00.250Z');
    const limits = { rate: parseRate('10/minute'), quota: parseQuota('100.5/day') };
    const plan = planAdmission('k', limits, 1, now);
    assert.deepEqual(plan.request, {
      apiKey: 'k',
      rate: { window: Math.floor(now / 60_000), limit: 10 },
      quota: { period: '2026-12-06', amount: 100.5, reserve: 1 },
    });
    const admitted = { admitted: true, rateCount: 4, quotaSpent: 50.25 };
    assert.deepEqual(rateLimitFields(limits, plan, admitted, 'call', now), {
      'ratelimit-policy': '"rate";q=10;w=60;qu="requests", "quota";q=100;w=86400;qu="requests"',
      ratelimit: '"rate";r=6;t=60, "quota";r=50;t=50400',
    });
    assert.equal(retryAfter(plan, admitted, now), undefined);
    const byRate = { admitted: false, refusedBy: 'rate' as const, rateCount: 10, quotaSpent: 50 };
    assert.equal(retryAfter(plan, byRate, now), 60);
    const byQuota = { admitted: false, refusedBy: 'quota' as const, rateCount: 1, quotaSpent: 101 };
    assert.equal(retryAfter(plan, byQuota, now), 50400);
    const total = { quota: parseQuota('5/total') };
    const totalPlan = planAdmission('k', total, 0, now);
    assert.deepEqual(
      rateLimitFields(total, totalPlan, { admitted: true, quotaSpent: 7 }, 'megabyte', now),
      {
        'ratelimit-policy': '"quota";q=5',
        ratelimit: '"quota";r=0',
      },
    );
    assert.equal(retryAfter(totalPlan, { admitted: false, refusedBy: 'quota' }, now), undefined);
  });

  test('buys over quota: those whose counters of the current period reached it', () => {
    const now = Date.parse('2026-12-06T10:00:00Z');
    const limits = [
      { publicPath: '/a', limits: { quota: parseQuota('10/day') } },
      { publicPath: '/a', apiKey: 'k3', limits: { quota: parseQuota('100/day') } },
    ];
    const buys = ['k1', 'k2', 'k3', 'k4'].map((apiKey) => ({ apiKey, publicPath: '/a' }));
    const counters = [
      { apiKey: 'k1', rateCount: 0, quotaPeriod: '2026-12-06', quotaSpent: 10 },
      { apiKey: 'k2', rateCount: 0, quotaPeriod: '2026-12-05', quotaSpent: 50 },
      { apiKey: 'k3', rateCount: 0, quotaPeriod: '2026-12-06', quotaSpent: 50 },
    ];
    assert.equal(countBuysOverQuota(limits, buys, counters, now), 1);
  });
});

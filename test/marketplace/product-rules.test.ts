/** How a TMF637 product is read: access by status and dates, usage prices, customers, party keys. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accessOf,
  customerPartyOf,
  isUsagePriceType,
  keyVariants,
  partyKeys,
} from '../../src/marketplace/product-rules.ts';

const now = Date.parse('2026-12-06T10:00:00Z');

test('access: active within its dates is granted; ending states and a passed termination end it', () => {
  assert.equal(accessOf({ status: 'active' }, now), 'granted');
  assert.equal(accessOf({ status: 'active', startDate: '2026-12-06T09:00:00Z' }, now), 'granted');
  assert.equal(accessOf({ status: 'active', startDate: '2026-12-06T11:00:00Z' }, now), 'not-yet');
  assert.equal(
    accessOf({ status: 'active', terminationDate: '2026-12-06T10:00:00Z' }, now),
    'ended',
  );
  for (const status of ['suspended', 'pendingTerminate', 'terminated', 'cancelled', 'aborted ']) {
    assert.equal(accessOf({ status }, now), 'ended', status);
  }
  for (const status of ['created', 'pendingActive', undefined]) {
    assert.equal(accessOf({ status }, now), 'not-yet', String(status));
  }
});

test('a usage price is usage or pay-per-use in any case and with any separators', () => {
  for (const type of ['usage', 'Usage', 'payPerUse', 'pay-per-use', 'PAY_PER_USE', 'pay per use']) {
    assert.equal(isUsagePriceType(type), true, type);
  }
  for (const type of ['recurring', 'one time', 'oneTime', '', undefined, 3]) {
    assert.equal(isUsagePriceType(type), false, String(type));
  }
});

test('the customer is the first party with a customer role, roles in any case', () => {
  const product = {
    relatedParty: [
      { id: 'seller', role: 'Seller', '@referredType': 'Organization' },
      { id: 'acme', name: 'acme-idm', role: 'BUYER', '@referredType': 'Organization' },
      { id: 'other', role: 'Customer', '@referredType': 'Individual' },
    ],
  };
  assert.deepEqual(customerPartyOf(product, ['buyer', 'customer']), {
    id: 'acme',
    name: 'acme-idm',
    referredType: 'Organization',
  });
  assert.equal(customerPartyOf(product, ['consumer']), undefined);
  assert.equal(customerPartyOf({}, ['buyer']), undefined);
});

test('a party is known by its external references and its did, with and without did:elsi:', () => {
  const keys = partyKeys({
    externalReference: [{ externalReferenceType: 'idm_id', name: 'acme-idm' }, { name: '' }],
    partyCharacteristic: [
      { name: 'did', value: 'did:elsi:VATES-B12341234' },
      { name: 'country', value: 'ES' },
    ],
  });
  assert.deepEqual(keys, ['acme-idm', 'did:elsi:VATES-B12341234']);
  assert.deepEqual(keyVariants('did:elsi:VATES-B1'), ['did:elsi:VATES-B1', 'VATES-B1']);
  assert.deepEqual(keyVariants('VATES-B1'), ['VATES-B1', 'did:elsi:VATES-B1']);
});

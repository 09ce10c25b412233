/** A marketplace of one offering, its usage price and the ACME organization, for tmf4 tests. */
import type { FakeTmf } from './fake-tmf.ts';

export const OFFERING = 'urn:ngsi-ld:product-offering:weather-api';
export const POP = 'urn:ngsi-ld:product-offering-price:per-call';
export const ACME = 'urn:ngsi-ld:organization:acme';
export const SELLER = 'urn:ngsi-ld:organization:provider';

/** A product as the BAE's charging backend writes it (tmf-v4.md B1). */
export const product = (id: string, status: string) => ({
  id,
  name: `oid-${id.slice(-4)}`,
  status,
  productOffering: { id: OFFERING },
  productPrice: [{ priceType: 'usage', productOfferingPrice: { id: POP } }],
  relatedParty: [
    { id: ACME, name: 'acme-idm', role: 'Buyer', '@referredType': 'Organization' },
    { id: SELLER, role: 'Seller', '@referredType': 'Organization' },
  ],
});

export function seedMarketplace(tmf: FakeTmf): void {
  tmf.offerings.set(OFFERING, { id: OFFERING, productOfferingPrice: [{ id: POP }] });
  tmf.prices.set(POP, {
    id: POP,
    priceType: 'usage',
    unitOfMeasure: { amount: 1, units: 'api call' },
    price: { unit: 'EUR', value: 0.01 },
  });
  tmf.organizations.set(ACME, {
    id: ACME,
    externalReference: [{ externalReferenceType: 'idm_id', name: 'acme-idm' }],
    partyCharacteristic: [{ name: 'did', value: 'did:elsi:VATES-B12341234' }],
  });
  tmf.organizations.set(SELLER, { id: SELLER });
}

/** A proxy in tmf4 mode against the stand-in, which reaches it back at `port`. */
export const tmf4Env = (tmf: FakeTmf, port: number) => ({
  ACCOUNTING_PROXY_PORT: String(port),
  ACCOUNTING_PROXY_MARKETPLACE: 'tmf4',
  ACCOUNTING_PROXY_TMF_URL: tmf.url,
  ACCOUNTING_PROXY_TMF_SELLER: SELLER,
  ACCOUNTING_PROXY_TMF_CALLBACK_URL: `http://127.0.0.1:${port}`,
  ACCOUNTING_PROXY_TMF_UNITS: 'call=api call',
});

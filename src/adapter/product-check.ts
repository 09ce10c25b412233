/**
 * The product credentials every `sess` call starts with. scrypt is slow on purpose (tens of ms),
 * and an adapter sends an update per client every few seconds: a password verified once is
 * remembered for the connection, as long as the stored hash is the same (a rotation is seen at
 * the next call).
 */
import { createHash } from 'node:crypto';
import type { Product } from '../store/adapter.ts';
import type { Store } from '../store/store.ts';
import type { RpcConnection } from './json-rpc.ts';
import { verifyPassword } from './secrets.ts';
import { sessError } from './sess-errors.ts';

interface Verified {
  passwordHash: string;
  /** Of the password that matched: the connection keeps no password. */
  digest: string;
}

const digestOf = (password: string) => createHash('sha256').update(password).digest('base64');
const stateKey = (productId: string) => `product:${productId}`;

/** The product, if `password` is its password; `access denied` otherwise. */
export async function verifyProduct(
  store: Store,
  connection: RpcConnection,
  productId: string,
  password: string,
): Promise<Product> {
  const product = await store.getProduct(productId);
  if (!product) throw sessError('accessDenied');
  const known = connection.state.get(stateKey(productId)) as Verified | undefined;
  const digest = digestOf(password);
  if (known && known.passwordHash === product.passwordHash && known.digest === digest) {
    return product;
  }
  if (!(await verifyPassword(password, product.passwordHash))) throw sessError('accessDenied');
  connection.state.set(stateKey(productId), { passwordHash: product.passwordHash, digest });
  return product;
}

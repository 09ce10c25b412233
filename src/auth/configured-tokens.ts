import type { Config } from '../../config.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { type AccessTokens, createAccessTokens, type JwtMetrics } from './access-tokens.ts';
import { createIdmClient, type IdmClient } from './idm-client.ts';
import type { JwksMetrics } from './jwks.ts';
import { createTokenValidator, type TokenMetrics } from './token-validator.ts';

export interface ConfiguredTokenParts {
  config: Config;
  clock: Clock;
  log: Logger;
  metrics?: (TokenMetrics & JwtMetrics & JwksMetrics) | undefined;
  /** Instead of the Keyrock client the configuration describes (tests). */
  idm?: IdmClient | undefined;
}

/**
 * The access tokens the configuration accepts: Keyrock's, asked of the IdM; and, when JWT issuers
 * or Keyrock JWT secrets are set, JWTs verified here. Without either setting, exactly the IdM, and
 * jose (some 10 MB of memory) is not loaded.
 */
export async function createConfiguredTokens(parts: ConfiguredTokenParts): Promise<AccessTokens> {
  const { config, clock, log, metrics } = parts;
  const { oauth2, jwt } = config;
  const idm = createTokenValidator({
    idm: parts.idm ?? createIdmClient({ baseUrl: oauth2.idm_url, timeoutMs: oauth2.idm_timeout }),
    ttlMs: oauth2.token_cache_ttl * 1000,
    clock,
    metrics,
  });
  if (jwt.issuers.length === 0 && jwt.keyrock_secrets.length === 0) return idm;
  const { createJwtVerifier } = await import('./jwt-verifier.ts');
  const verifier = createJwtVerifier({
    config: jwt,
    timeoutMs: oauth2.idm_timeout,
    clock,
    log,
    metrics,
  });
  return createAccessTokens({ idm, jwt: verifier, clock, metrics });
}

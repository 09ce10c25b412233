/**
 * The errors of Privatix's session server (dappctrl `sess`): JSON-RPC code -32000 with the message
 * `<text> (<code>)`. Adapters match on the text (dapp-openvpn kills its client on "non-active
 * channel"), so texts and codes are protocol facts.
 */
import { RpcError } from './json-rpc.ts';

// dappctrl numbers them from CRC16("github.com/privatix/dappctrl/sess") << 8.
const SESS_ERRORS = {
  accessDenied: ['access denied', 1236224],
  channelNotFound: ['channel not found', 1236225],
  badClientPassword: ['bad client password', 1236226],
  internal: ['internal server error', 1236227],
  // Also a buy whose quota is spent (README, Limits): dappctrl's error for a channel not served.
  nonActiveChannel: ['non-active channel', 1236228],
  sessionNotFound: ['session not found', 1236229],
  endpointNotFound: ['endpoint not found', 1236230],
  badProductConfig: ['bad product config', 1236231],
} as const;

export type SessErrorName = keyof typeof SESS_ERRORS;

export class SessError extends RpcError {
  constructor(readonly sessName: SessErrorName) {
    const [text, code] = SESS_ERRORS[sessName];
    super(`${text} (${code})`);
  }
}

export const sessError = (name: SessErrorName) => new SessError(name);

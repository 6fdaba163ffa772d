import { createHmac } from 'node:crypto';
import type { IceServerInfo } from '../../shared/protocol.ts';

/**
 * coturn's REST-API credentials (`use-auth-secret`): the username is the expiry (Unix seconds)
 * and a label, the password base64(HMAC-SHA1(secret, username)). coturn checks them with the same
 * secret, so nothing is stored and a leaked one stops working at its expiry.
 */
export function turnCredentials(turn: { urls: string[]; secret: string }, label: string, validSeconds: number, now = Date.now()): IceServerInfo {
  const expiry = Math.floor(now / 1000) + Math.ceil(validSeconds);
  const username = `${expiry}:${label}`;
  return { urls: turn.urls, username, credential: createHmac('sha1', turn.secret).update(username).digest('base64') };
}

import os from 'node:os';
import type { types } from 'mediasoup';
import type { Config } from '../../config/Config.ts';

export interface RoomTransportSettings {
  listenIp: types.TransportListenIp;
  /** Screen + camera caps plus audio and a margin: what one candidate may send at most. */
  maxIncomingBitrate: number;
  /** Where a proctor's downlink estimate starts, so the first frames are not starved. */
  initialAvailableOutgoingBitrate: number;
}

/**
 * A wildcard listen IP needs an address the browser can reach announced in the ICE candidates.
 * Without RTC_ANNOUNCED_IP the first external IPv4 of this host is used, else loopback, so a
 * local `npm start` works out of the box.
 */
function announcedIpFor(listenIp: string, announcedIp: string | undefined): string | undefined {
  if (announcedIp) return announcedIp;
  if (listenIp !== '0.0.0.0' && listenIp !== '::') return undefined;
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}

export function roomTransportSettings(config: Config): RoomTransportSettings {
  const announcedIp = announcedIpFor(config.mediasoup.listenIp, config.mediasoup.announcedIp);
  return {
    listenIp: announcedIp ? { ip: config.mediasoup.listenIp, announcedIp } : { ip: config.mediasoup.listenIp },
    maxIncomingBitrate: Math.round((config.bitrates.screen + config.bitrates.camera + 128_000) * 1.2),
    initialAvailableOutgoingBitrate: Math.min(3_000_000, config.bitrates.screen + config.bitrates.camera),
  };
}

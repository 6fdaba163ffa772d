// RTC port slices for test services and routers.
import fs from 'node:fs';
import { localPortsOf } from '../../recorder-pipeline/ffmpeg/udpPorts.ts';
const RTC_SLICE = 200;
/**
 * Test RTC ports lie below the kernel's ephemeral range (32768+ on Linux), where ffmpeg's inputs,
 * the browsers' and the HTTP clients' own ports land, and each vitest worker (vitest.config.ts:
 * maxWorkers 2) draws from its own half: a network cut in one test file (iptables on a slice) never
 * drops another file's packets, and another file's ffmpeg never takes a port mediasoup wanted.
 */
const RTC_SHARES = 2;
const RTC_PORTS = rangeFromEnv(process.env.TEST_RTC_PORT_RANGE) ?? { start: 20_000, end: 32_600 };

/**
 * TEST_RTC_PORT_RANGE=start-end moves the test slices, so a second checkout can run its suite on
 * the same machine without drawing the same ports (e.g. 10000-19999 beside the default).
 */
function rangeFromEnv(value: string | undefined): { start: number; end: number } | undefined {
  const match = /^(\d+)-(\d+)$/.exec(value ?? '');
  if (!match) return undefined;
  const [start, end] = [Number(match[1]), Number(match[2])];
  if (end - start < RTC_SLICE * RTC_SHARES * 4) throw new Error(`TEST_RTC_PORT_RANGE ${value} is too narrow`);
  return { start, end };
}

/** Slices this process handed out, least recently first: two services of one test never share one. */
const handedOut: number[] = [];

export function randomRtcPorts(): { RTC_MIN_PORT: string; RTC_MAX_PORT: string } {
  const slicesPerShare = Math.floor((RTC_PORTS.end - RTC_PORTS.start) / RTC_SLICE / RTC_SHARES);
  const share = (Number(process.env.VITEST_POOL_ID ?? 1) - 1) % RTC_SHARES;
  // A random slice not handed out lately (a single-port service binds the first port of its slice:
  // two services of one test on the same slice would collide).
  const recent = new Set(handedOut.slice(-Math.floor(slicesPerShare / 2)));
  // Nor one whose first port something still holds (a service of an earlier test file whose
  // worker has not let go yet): a single-port service must bind exactly that port.
  const bound = boundLocalPorts();
  let slice: number;
  let attempts = 0;
  do slice = share * slicesPerShare + Math.floor(Math.random() * slicesPerShare);
  while ((recent.has(slice) || bound.has(RTC_PORTS.start + slice * RTC_SLICE)) && ++attempts < 100);
  handedOut.push(slice);
  const min = RTC_PORTS.start + slice * RTC_SLICE;
  return { RTC_MIN_PORT: String(min), RTC_MAX_PORT: String(min + RTC_SLICE - 1) };
}

/** Local ports bound on this machine (UDP and TCP, IPv4 and IPv6), read from /proc (Linux). */
function boundLocalPorts(): Set<number> {
  const ports = new Set<number>();
  for (const table of ['/proc/net/udp', '/proc/net/udp6', '/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const port of localPortsOf(fs.readFileSync(table, 'utf8'))) ports.add(port);
    } catch {
      // No such table (no IPv6): nothing bound there.
    }
  }
  return ports;
}

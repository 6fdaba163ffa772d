import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findFreeRtpPorts } from '../../recorder-pipeline/ffmpeg/udpPorts.ts';

/** The kernel's ephemeral range, where port 0 binds land (and where mediasoup's default range lies). */
function ephemeralRange(): { min: number; max: number } {
  const [min, max] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  return { min: min!, max: max! };
}

describe('findFreeRtpPorts', () => {
  it('returns even ports whose odd neighbour is free, none of them twice', async () => {
    const ports = await findFreeRtpPorts(3);
    expect(ports).toHaveLength(3);
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) expect(port % 2).toBe(0);
  });

  it('keeps the pairs out of the range mediasoup allocates from', async () => {
    const ephemeral = ephemeralRange();
    // Two thirds of the ephemeral range: without avoiding it, most pairs would land inside.
    const avoid = { min: ephemeral.min, max: ephemeral.min + Math.floor(((ephemeral.max - ephemeral.min) * 2) / 3) };
    for (let round = 0; round < 10; round++) {
      for (const port of await findFreeRtpPorts(3, '127.0.0.1', avoid)) {
        expect(port + 1 < avoid.min || port > avoid.max, `port ${port} is inside ${avoid.min}–${avoid.max}`).toBe(true);
      }
    }
  });
});

import dgram from 'node:dgram';
import fs from 'node:fs/promises';

/** An inclusive range of ports that another component allocates from (mediasoup's RTC ports). */
export interface PortRange {
  min: number;
  max: number;
}

/**
 * UDP ports for ffmpeg's RTP inputs. ffmpeg binds them itself, so we can only find ports that are
 * free now and hand them over: an even port whose odd neighbour (RTCP) is free too. Ports in
 * `avoid` are skipped: mediasoup binds there at any moment (its default range lies inside the
 * kernel's ephemeral range), and a port it takes between our check and ffmpeg's bind fails the start.
 * Best effort: if the kernel keeps offering only avoided ports, they are used after all.
 */
export async function findFreeRtpPorts(count: number, ip = '127.0.0.1', avoid?: PortRange): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt > 400) throw new Error('could not find free UDP port pairs for ffmpeg');
    const first = await tryBind(0, ip);
    if (!first) continue;
    const port = first.port;
    const avoided = avoid !== undefined && attempt < 200 && port + 1 >= avoid.min && port <= avoid.max;
    const pair = port % 2 === 0 && !avoided ? await tryBind(port + 1, ip) : undefined;
    first.socket.close();
    pair?.socket.close();
    if (pair && !ports.includes(port)) ports.push(port);
  }
  return ports;
}

async function tryBind(port: number, ip: string): Promise<{ socket: dgram.Socket; port: number } | undefined> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, ip, () => resolve({ socket, port: socket.address().port }));
  });
}

/** UDP ports some process has bound, read from /proc/net/udp and udp6 (Linux). */
export async function boundUdpPorts(): Promise<Set<number>> {
  const bound = new Set<number>();
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = await fs.readFile(table, 'utf8');
    } catch {
      continue;
    }
    for (const port of localPortsOf(text)) bound.add(port);
  }
  return bound;
}

/** The local ports of a /proc/net/{udp,tcp}[6] table's rows (Linux). */
export function localPortsOf(table: string): number[] {
  const ports: number[] = [];
  for (const line of table.split('\n').slice(1)) {
    const port = line.trim().split(/\s+/)[1]?.split(':')[1];
    if (port) ports.push(Number.parseInt(port, 16));
  }
  return ports;
}

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The cues of a WebVTT file as ffmpeg's own WebVTT demuxer reads them (a real parser): start and text. */
export async function vttCues(file: string): Promise<Array<{ start: number; text: string }>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-f', 'webvtt', '-show_entries', 'packet=pts_time,data', '-show_data', '-of', 'json', file], { maxBuffer: 16 * 1024 * 1024 });
  const packets = (JSON.parse(stdout) as { packets?: Array<{ pts_time: string; data?: string }> }).packets ?? [];
  return packets.map((packet) => ({ start: Number(packet.pts_time), text: hexdumpText(packet.data ?? '') }));
}

/** ffprobe's -show_data hexdump back to the bytes' text. */
function hexdumpText(dump: string): string {
  const bytes: number[] = [];
  for (const line of dump.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const hex = line.slice(colon + 1, colon + 41).replace(/\s+/g, '');
    for (let i = 0; i + 1 < hex.length; i += 2) bytes.push(parseInt(hex.slice(i, i + 2), 16));
  }
  return Buffer.from(bytes).toString('utf8');
}

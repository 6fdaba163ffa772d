import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { vp9KeyFrameSizeAt } from '../../recorder-pipeline/rtp/vp9PayloadDescriptor.ts';
import { ensureMediaFixtures } from '../support/mediaFixtures.ts';
import { probeFile } from '../support/ffprobe.ts';
import { tempDir } from '../support/testConfig.ts';

const run = promisify(execFile);

/** The first frame of a VP9 file (a key frame), as the bytes an RTP payload carries after its descriptor (IVF: 32-byte file header, 12-byte frame header). */
async function firstFrame(file: string): Promise<Buffer> {
  const ivf = path.join(tempDir('vp9-frame-'), 'frame.ivf');
  await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v:0', '-c', 'copy', '-frames:v', '1', '-f', 'ivf', '-y', ivf]);
  const bytes = fs.readFileSync(ivf);
  fs.rmSync(path.dirname(ivf), { recursive: true, force: true });
  return bytes.subarray(32 + 12);
}

describe("a VP9 key frame's size, read from its first RTP packet", () => {
  it('is the encoded size of the screen fixture, behind a descriptor with a picture ID, and nothing for a packet that does not start a key frame', async () => {
    const { screen } = await ensureMediaFixtures();
    const probed = await probeFile(screen);
    const frame = await firstFrame(screen);
    // I (picture ID, 15 bits) and B (start of frame) set.
    const packet = Buffer.concat([Buffer.from([0x88, 0x80, 0x01]), frame.subarray(0, 1000)]);
    expect(vp9KeyFrameSizeAt(packet, 0, packet.length)).toEqual({ width: probed.video!.width, height: probed.video!.height });
    // Not the start of a frame (B clear), or cut before the size: nothing.
    const middle = Buffer.from(packet);
    middle[0] = 0x80;
    expect(vp9KeyFrameSizeAt(middle, 0, middle.length)).toBeUndefined();
    expect(vp9KeyFrameSizeAt(packet, 0, 8)).toBeUndefined();
  });
});

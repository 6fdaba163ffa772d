import { describe, expect, it } from 'vitest';
import { decodeErrorLines } from './ffprobe.ts';

describe('decodeErrorLines', () => {
  it('drops the null muxer timestamp remarks and their repeat counts, keeping real decoding errors', () => {
    const stderr = [
      '[null @ 0x55d5] Application provided invalid, non monotonically increasing dts to muxer in stream 0: 4000 >= 4000',
      '    Last message repeated 9 times',
      '[vp9 @ 0x55d6] Not all references are available',
      '    Last message repeated 2 times',
      '',
    ].join('\n');
    expect(decodeErrorLines(stderr)).toEqual(['[vp9 @ 0x55d6] Not all references are available', '    Last message repeated 2 times']);
  });
});

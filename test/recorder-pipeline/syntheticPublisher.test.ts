import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackNames } from '../../recorder-pipeline/tracks.ts';
import { startMediaRouter } from '../support/mediaRouter.ts';
import { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { waitFor } from '../support/testConfig.ts';

async function packetCount(producer: types.Producer): Promise<number> {
  const [stats] = await producer.getStats();
  return stats?.packetCount ?? 0;
}

describe('the synthetic publisher', () => {
  let media: Awaited<ReturnType<typeof startMediaRouter>>;
  beforeAll(async () => {
    media = await startMediaRouter();
  });
  afterAll(() => media?.close());

  for (const srtp of [false, true]) {
    it(`feeds VP9 screen, VP9 camera and Opus producers over ${srtp ? 'SRTP' : 'plain RTP'}`, async () => {
      const publisher = await SyntheticPublisher.start({ router: media.router, srtp });
      try {
        expect(publisher.producers.screen.rtpParameters.codecs[0]!.mimeType).toBe('video/VP9');
        expect(publisher.producers.camera.rtpParameters.codecs[0]!.mimeType).toBe('video/VP9');
        expect(publisher.producers.audio.rtpParameters.codecs[0]!.mimeType).toBe('audio/opus');
        for (const track of trackNames) {
          await waitFor(async () => (await packetCount(publisher.producers[track])) > 20, { what: `${track} packets at mediasoup` });
        }
      } finally {
        await publisher.close();
      }
      expect(trackNames.every((track) => publisher.producers[track].closed)).toBe(true);
    });
  }

  it('starts each generation with new SSRCs, as a reloaded browser would', async () => {
    const first = await SyntheticPublisher.start({ router: media.router });
    await first.close();
    const second = await SyntheticPublisher.start({ router: media.router });
    await second.close();
    for (const track of trackNames) {
      expect(second.producers[track].rtpParameters.encodings![0]!.ssrc).not.toBe(first.producers[track].rtpParameters.encodings![0]!.ssrc);
    }
  });
});

// A candidate opens the link in a real browser without WebRTC — Debian's WebKitGTK (Safari's
// engine, WebRTC compiled out; it has camera, microphone and screen capture) — and gets one clear
// page saying what is missing and what to use instead, before any request reaches signalling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../support/browser.ts';
import { waitFor } from '../support/testConfig.ts';
import { startTestService, type TestService } from '../support/testService.ts';
import { launchWebKit, type WebKitSession } from '../support/webkit.ts';

describe('a browser without WebRTC (WebKitGTK)', () => {
  let ts: TestService;
  let webkit: WebKitSession;

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
    webkit = await launchWebKit();
  });

  afterAll(async () => {
    await webkit?.close();
    await ts?.close();
  });

  it('gets the unsupported page naming what is missing, with the link to copy, and never reaches signalling', async () => {
    const interview = await ts.createInterview();
    let handshakes = 0;
    ts.service.io.engine.on('initial_headers', () => handshakes++);
    await webkit.goto(interview.candidateUrl);
    const shown = await waitFor(
      async () => {
        const page = await webkit.evaluate<{ panel: boolean; what: string; message: string; code: string; start: boolean; webrtc: boolean }>(`
          return {
            panel: !document.getElementById('unsupported').hidden,
            what: document.getElementById('unsupported-what').textContent,
            message: document.getElementById('message').textContent,
            code: document.getElementById('support-code').textContent,
            start: !document.getElementById('start').hidden,
            webrtc: typeof RTCPeerConnection !== 'undefined',
          };`);
        return page.panel ? page : null;
      },
      { timeoutMs: 15_000, what: 'the unsupported-browser page' },
    );
    expect(shown.webrtc).toBe(false);
    expect(shown.what).toBe('This browser has no live video (WebRTC).');
    expect(shown.message).toMatch(/Open this link on a computer in Chrome, Edge or Firefox\.$/);
    expect(shown.code).toBe('Code for support: unsupported_browser');
    expect(shown.start).toBe(false);
    // The copy button answers either way (MiniBrowser may refuse the clipboard): never silent.
    await webkit.click('#copy-link');
    const copied = await waitFor(() => webkit.evaluate<string>("return document.getElementById('copy-result').textContent"), { what: 'the copy result' });
    expect(copied).toMatch(/^(The link is copied|Copying did not work here)/);
    expect(handshakes).toBe(0);
    expect(ts.service.io.engine.clientsCount).toBe(0);
  });
});

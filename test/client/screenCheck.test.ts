import { describe, expect, it } from 'vitest';
import { howToShareEntireScreen } from '../../client/sdk/messages.ts';
import { browserFamily, judgeScreenShare, type ScreenEvidence } from '../../client/sdk/screenCheck.ts';

const screen1280: Omit<ScreenEvidence, 'label'> = { screenWidth: 1280, screenHeight: 800, devicePixelRatio: 1 };

describe('the entire-screen check', () => {
  it('trusts displaySurface where the browser gives it', () => {
    expect(judgeScreenShare({ ...screen1280, displaySurface: 'monitor', label: 'screen:0:0', width: 1280, height: 720 })).toMatchObject({ accepted: true, verdict: 'monitor' });
    expect(judgeScreenShare({ ...screen1280, displaySurface: 'browser', label: 'x', width: 1280, height: 800 })).toMatchObject({ accepted: false, shared: 'a browser tab' });
    expect(judgeScreenShare({ ...screen1280, displaySurface: 'window', label: 'x', width: 1280, height: 800 })).toMatchObject({ accepted: false, shared: 'a window' });
  });

  it('accepts Firefox’s whole screen as a monitor: its size times devicePixelRatio and a screen label', () => {
    expect(judgeScreenShare({ ...screen1280, label: 'Primary Monitor', width: 1280, height: 800 })).toMatchObject({ accepted: true, verdict: 'monitor' });
    // A HiDPI screen: CSS size 1440×900 at 2× is a 2880×1800 capture.
    expect(judgeScreenShare({ screenWidth: 1440, screenHeight: 900, devicePixelRatio: 2, label: 'Screen 1', width: 2880, height: 1800 })).toMatchObject({ verdict: 'monitor' });
    // A rotated monitor reports its size swapped.
    expect(judgeScreenShare({ ...screen1280, label: 'Primary Monitor', width: 800, height: 1280 })).toMatchObject({ verdict: 'monitor' });
  });

  it('refuses a share smaller than the screen, of another shape and not named like a screen: a window', () => {
    expect(judgeScreenShare({ ...screen1280, label: 'Terminal — bash', width: 900, height: 640 })).toMatchObject({ accepted: false, shared: 'a window' });
  });

  it('accepts what it cannot decide and marks it unverified', () => {
    // A full-screen window looks like the screen but is not named like one.
    expect(judgeScreenShare({ ...screen1280, label: 'Visual Studio Code', width: 1280, height: 800 })).toMatchObject({ accepted: true, verdict: 'unverified' });
    // A screen label on another size: a second monitor.
    expect(judgeScreenShare({ ...screen1280, label: 'Screen 2', width: 1920, height: 1080 })).toMatchObject({ accepted: true, verdict: 'unverified' });
    // Same shape, smaller: a scaled-down capture of the monitor.
    expect(judgeScreenShare({ ...screen1280, label: '', width: 640, height: 400 })).toMatchObject({ accepted: true, verdict: 'unverified' });
    // No size at all.
    expect(judgeScreenShare({ ...screen1280, label: '' })).toMatchObject({ accepted: true, verdict: 'unverified' });
  });

  it('names the browser from its user agent and explains the pick in its own words', () => {
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0';
    const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
    const edge = `${chrome} Edg/156.0.0.0`;
    const safari = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15';
    expect([firefox, chrome, edge, safari, 'curl/8'].map(browserFamily)).toEqual(['firefox', 'chromium', 'edge', 'safari', 'other']);
    expect(howToShareEntireScreen('firefox')).toContain('“Allow”');
    expect(howToShareEntireScreen('chromium')).toContain('“Entire screen” tab');
    expect(howToShareEntireScreen('safari')).toContain('Share Entire Screen');
  });

  it('gives every iOS browser Safari’s words (they are all WebKit, whatever they call themselves)', () => {
    const iosChrome = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1';
    const iosFirefox = 'Mozilla/5.0 (iPad; CPU OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15';
    const iosEdge = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 EdgiOS/131.0.2903.87 Mobile/15E148 Safari/605.1.15';
    expect([iosChrome, iosFirefox, iosEdge].map(browserFamily)).toEqual(['safari', 'safari', 'safari']);
  });
});

// Is a screen share the entire screen? Chromium (and Edge, and recent Safari) say so in the
// track's displaySurface; Firefox 153 does not, so there the page weighs what the browser does
// give — the track's size against the screen's and its label — and, where that cannot decide,
// accepts the share and says it is unverified rather than turning a candidate away for nothing.
// Pure functions of what the page reads, so they are tested without a browser.
import type { ScreenSource } from '../../shared/vocabulary.ts';
import { IngestError } from './IngestError.ts';
import { howToShareEntireScreen } from './messages.ts';

export type BrowserFamily = 'firefox' | 'edge' | 'chromium' | 'safari' | 'other';

/**
 * Which browser's words to use in instructions (its dialogs and menus differ). Never a gate: what a
 * browser can do is checked by capability (capabilities.ts). Every browser on iOS and iPadOS is
 * WebKit with Safari's prompts, whatever it calls itself (CriOS, FxiOS, EdgiOS).
 */
export function browserFamily(userAgent: string): BrowserFamily {
  if (/\b(CriOS|FxiOS|EdgiOS)\//.test(userAgent)) return 'safari';
  if (/Firefox\//.test(userAgent)) return 'firefox';
  if (/Edg\//.test(userAgent)) return 'edge';
  if (/Chrom(e|ium)\//.test(userAgent)) return 'chromium';
  if (/Safari\//.test(userAgent)) return 'safari';
  return 'other';
}

export interface ScreenEvidence {
  /** MediaTrackSettings.displaySurface, where the browser gives it. */
  displaySurface?: string | undefined;
  width?: number | undefined;
  height?: number | undefined;
  label: string;
  /** window.screen.width/height (CSS pixels) and devicePixelRatio. */
  screenWidth: number;
  screenHeight: number;
  devicePixelRatio: number;
}

export type ScreenJudgement = ({ accepted: true } & ScreenSource) | { accepted: false; shared: string; evidence: string };

/** How far the track's size may be from the screen's and still count as "the same". */
const SIZE_TOLERANCE = 0.02;

// Labels browsers give whole-screen tracks: Firefox "Primary Monitor" / "Screen 1", Chromium
// "screen:0:0", Safari "Screen". A window's label is its title, a tab's its title or URL.
const SCREEN_LABEL = /\b(monitor|screen|display|entire)\b|^screen:\d/i;

function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= b * SIZE_TOLERANCE;
}

export function judgeScreenShare(evidence: ScreenEvidence): ScreenJudgement {
  const { displaySurface, width, height, label } = evidence;
  if (displaySurface === 'monitor') return { accepted: true, verdict: 'monitor', evidence: 'the browser reported a monitor (displaySurface)' };
  if (displaySurface) {
    const shared = displaySurface === 'browser' ? 'a browser tab' : displaySurface === 'window' ? 'a window' : 'something other than your screen';
    return { accepted: false, shared, evidence: `the browser reported displaySurface “${displaySurface}”` };
  }
  const labelled = SCREEN_LABEL.test(label);
  const labelText = label ? `label “${label.slice(0, 60)}”` : 'no label';
  if (!width || !height) {
    return { accepted: true, verdict: 'unverified', evidence: `no surface type and no size from the browser; ${labelText}` };
  }
  // Screen size in device pixels, either orientation (a rotated monitor reports it swapped).
  const screenW = Math.round(evidence.screenWidth * evidence.devicePixelRatio);
  const screenH = Math.round(evidence.screenHeight * evidence.devicePixelRatio);
  const sizes = `${width}×${height} against a ${screenW}×${screenH} screen`;
  const fullSize = (near(width, screenW) && near(height, screenH)) || (near(width, screenH) && near(height, screenW));
  if (fullSize && labelled) return { accepted: true, verdict: 'monitor', evidence: `no surface type; ${sizes} and ${labelText}` };
  // Same size but a label that is not a screen's: a full-screen window looks exactly like this.
  if (fullSize) return { accepted: true, verdict: 'unverified', evidence: `no surface type; ${sizes}, ${labelText}` };
  const smaller = width <= screenW * (1 + SIZE_TOLERANCE) && height <= screenH * (1 + SIZE_TOLERANCE);
  const sameShape = Math.abs(width / height - screenW / screenH) <= (screenW / screenH) * SIZE_TOLERANCE;
  // Smaller than the screen, another shape, and not named like a screen: a window.
  if (smaller && !sameShape && !labelled) return { accepted: false, shared: 'a window', evidence: `no surface type; ${sizes}, ${labelText}` };
  // Another monitor of another size, or a scaled-down capture: plausible, not provable.
  return { accepted: true, verdict: 'unverified', evidence: `no surface type; ${sizes}, ${labelText}` };
}

/**
 * The entire-screen check on a live track (ours or the host's): its verdict and evidence, or an
 * IngestError — not_a_screen for something that is no screen capture at all (where the browser
 * tells screen tracks apart), not_entire_screen with what to pick for a tab or a window. Sets
 * contentHint 'detail' on an accepted share: text and code stay sharp, the frame rate gives way.
 */
export function judgeScreenTrack(video: MediaStreamTrack): ScreenSource {
  const browser = browserFamily(navigator.userAgent);
  if (video.kind !== 'video') throw new IngestError('not_a_screen', { cause: `a ${video.kind} track` });
  const settings = video.getSettings() as MediaTrackSettings & { displaySurface?: string };
  // Where the browser reports displaySurface for screen tracks, a video track without it is a camera.
  const reportsSurface = (navigator.mediaDevices.getSupportedConstraints() as Record<string, boolean | undefined>).displaySurface === true;
  if (reportsSurface && !settings.displaySurface && settings.deviceId && !/^(screen|window|web-contents-media-stream):/.test(settings.deviceId)) {
    throw new IngestError('not_a_screen', { cause: `track “${video.label.slice(0, 60)}” has no displaySurface` });
  }
  const judgement = judgeScreenShare({
    displaySurface: settings.displaySurface,
    width: settings.width,
    height: settings.height,
    label: video.label,
    screenWidth: screen.width,
    screenHeight: screen.height,
    devicePixelRatio: window.devicePixelRatio || 1,
  });
  if (!judgement.accepted) {
    throw new IngestError('not_entire_screen', { shared: judgement.shared, cause: judgement.evidence }, {
      message: `You shared ${judgement.shared}, not your entire screen. ${howToShareEntireScreen(browser)}`,
    });
  }
  video.contentHint = 'detail';
  return { verdict: judgement.verdict, evidence: `${browser}: ${judgement.evidence}` };
}

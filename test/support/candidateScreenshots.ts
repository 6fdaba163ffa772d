// The candidate page's states as pictures: docs/screenshots/<state>.png, taken by
// test/browser/candidateStates.test.ts (and, for blocked and unsupported, by the tests that reach
// them for real) and shown in docs/candidate-states.md. `UPDATE_SCREENSHOTS=1 npm test` rewrites them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOT_DIR = path.join(repoRoot, 'docs', 'screenshots');
export const CANDIDATE_STATES_DOC = path.join(repoRoot, 'docs', 'candidate-states.md');

/** A laptop's screen: every picture is taken at this size (small PNGs, what most candidates see). */
const SCREENSHOT_VIEWPORT = { width: 1280, height: 720 };

/**
 * Every candidate state that is pictured, as docs/screenshots/<state>.png, each shown in
 * docs/candidate-states.md (the last test of test/browser/candidateStates.test.ts checks both).
 *
 * 'blocked' is pictured by test/browser/blockedPermissions.test.ts (real permission prompts under
 * Xvfb), the others by candidateStates.test.ts.
 */
export const CANDIDATE_STATES = ['ready', 'waiting-for-share', 'wrong-share', 'live', 'reconnecting', 'ended', 'blocked', 'unsupported'] as const;
export type CandidateState = (typeof CANDIDATE_STATES)[number];

/** The pictures written by this test file's run (a state may add variants, e.g. live-dark). */
export const pictured = new Set<string>();

/**
 * Writes `png` as docs/screenshots/<name>.png when asked (UPDATE_SCREENSHOTS=1) or when there is
 * none yet: a picture differs on every run (the camera frame, the clock), and a test run must not
 * leave the checkout changed. The test took the picture either way.
 */
function saveCandidateScreenshot(name: CandidateState | `${CandidateState}-dark`, png: Buffer): string {
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  if (png.length < 1000 || png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error(`not a PNG picture of ${name}`);
  if (process.env.UPDATE_SCREENSHOTS === '1' || !fs.existsSync(file)) {
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    fs.writeFileSync(file, png);
  }
  pictured.add(name);
  return file;
}

/**
 * Pictures the page as it is now at 1280×720 (animations stopped, no caret), in the colour scheme
 * the page is emulating, as docs/screenshots/<name>.png.
 */
export async function pictureCandidateState(page: Page, name: CandidateState | `${CandidateState}-dark`): Promise<string> {
  await page.setViewportSize(SCREENSHOT_VIEWPORT);
  const png = await page.screenshot({ type: 'png', animations: 'disabled', caret: 'hide' });
  return saveCandidateScreenshot(name, png);
}

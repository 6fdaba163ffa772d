// The candidate page's states as pictures: docs/screenshots/<state>.png, written by
// test/browser/candidateStates.test.ts and shown in docs/candidate-states.md.
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
 * HOOK for the states built alongside (issue 22): to add 'blocked' (a refused permission: how to
 * unblock it, Try again) and 'unsupported' (a browser that lacks what the interview needs), put the
 * name here; in the test that brings the page there, once it has asserted what the page says, run
 * `checkAccessibility(page, 'candidate page, blocked')` (test/support/accessibility.ts) and
 * `pictureCandidateState(page, 'blocked')` (e.g. in test/browser/blockedPermissions.test.ts; for
 * WebKitGTK over WebDriver, export saveCandidateScreenshot below and hand it the PNG of WebDriver's
 * screenshot command); and add a section with ![…](screenshots/<state>.png) to the doc.
 */
export const CANDIDATE_STATES = ['ready', 'waiting-for-share', 'wrong-share', 'live', 'reconnecting', 'ended'] as const;
export type CandidateState = (typeof CANDIDATE_STATES)[number];

/** The pictures written by this test file's run (a state may add variants, e.g. live-dark). */
export const pictured = new Set<string>();

/** Writes `png` as docs/screenshots/<name>.png (export it for a picture taken another way, e.g. over WebDriver). */
function saveCandidateScreenshot(name: CandidateState | `${CandidateState}-dark`, png: Buffer): string {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  fs.writeFileSync(file, png);
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

// Accessibility checks of a page as it is now, in Chromium: axe-core's rules in the light and the
// dark colour scheme, and a walk through the page with the Tab key.
import axe from 'axe-core';
import type { Page } from 'playwright-core';

/** The impacts that fail a check (issue 22: 0 serious or critical violations on every page). */
const BLOCKING = new Set(['serious', 'critical']);

export interface AxeReport {
  /** The serious and critical violations, one line each: what to fix and where. Empty: the page passes. */
  blocking: string[];
  /** Moderate and minor ones, by rule id and count (logged, not failed). */
  minor: string[];
}

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[]; failureSummary?: string }>;
}

function describe(scheme: string, violation: Violation): string {
  const nodes = violation.nodes.map((node) => {
    const summary = node.failureSummary?.replace(/\s+/g, ' ').replace(/^Fix (any|all) of the following: /, '').trim();
    return `${node.target.map(String).join(' ')}${summary ? ` (${summary})` : ''}`;
  });
  return `[${scheme}] ${violation.id} (${violation.impact}): ${violation.help} — ${nodes.join('; ')}`;
}

/**
 * Runs axe-core in the page under `prefers-color-scheme: light` and then `dark` (the page's CSS
 * follows the scheme, so contrast is checked in both), and leaves the page in light.
 *
 * axe is put into the page with page.evaluate rather than page.addScriptTag: the pages' CSP
 * (script-src 'self') refuses an inline <script>, and turning CSP off (bypassCSP) would check a
 * page other than the one a candidate gets. page.evaluate runs the same source in the page's own
 * JavaScript world, where axe reads the real DOM and computed styles.
 */
export async function checkAccessibility(page: Page, state: string): Promise<AxeReport> {
  const report: AxeReport = { blocking: [], minor: [] };
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axe.source);
    const violations = await page.evaluate(async () => {
      const results = await (window as unknown as { axe: typeof axe }).axe.run(document, { resultTypes: ['violations'] });
      return results.violations.map((violation) => ({
        id: violation.id,
        impact: violation.impact ?? null,
        help: violation.help,
        nodes: violation.nodes.map((node) => ({ target: node.target as unknown[], failureSummary: node.failureSummary })),
      }));
    });
    for (const violation of violations as Violation[]) {
      if (BLOCKING.has(violation.impact ?? '')) report.blocking.push(describe(scheme, violation));
      else report.minor.push(`[${scheme}] ${violation.id} (${violation.impact}) ×${violation.nodes.length}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  console.log(`axe-core ${axe.version}, ${state}: ${report.blocking.length} serious/critical${report.minor.length ? `; moderate/minor: ${report.minor.join(', ')}` : ''}`);
  return report;
}

export interface FocusStop {
  /** The focused element, as `tag#id` or `tag "name"`. */
  element: string;
  /** The focus indicator it shows: outline style and width in px. */
  outline: { style: string; width: number };
}

/** Every control a keyboard user can reach and use on the page now: visible, enabled, not inert. */
export function keyboardControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const describe = (element: Element) => (element.id ? `${element.tagName.toLowerCase()}#${element.id}` : `${element.tagName.toLowerCase()} "${element.textContent?.trim()}"`);
    return [...document.querySelectorAll('a[href], button, input, select, textarea, video[controls], [tabindex]')]
      .filter((element) => {
        const html = element as HTMLElement & { disabled?: boolean };
        if (html.disabled || html.tabIndex < 0) return false;
        return html.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true } as CheckVisibilityOptions);
      })
      .map(describe);
  });
}

/**
 * Presses Tab until focus has gone all the way round the page (back to the first control it
 * reached, through the browser's own UI past the last one), or `limit` presses, and says where
 * focus went and what each stop showed as its focus indicator.
 */
export async function tabThrough(page: Page, limit = 80): Promise<FocusStop[]> {
  // Start from the document itself, as a keyboard user arriving on the page does.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const stops: FocusStop[] = [];
  let outside = 0;
  let previous: string | undefined;
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate(() => {
      const element = document.activeElement;
      if (!element || element === document.body) return null;
      const style = getComputedStyle(element);
      const name = element.id ? `${element.tagName.toLowerCase()}#${element.id}` : `${element.tagName.toLowerCase()} "${element.textContent?.trim()}"`;
      return { element: name, outline: { style: style.outlineStyle, width: parseFloat(style.outlineWidth) } };
    });
    if (!stop) {
      // Past the last control (in the browser's UI): the next Tab starts from the top. A page
      // with no control at all never comes back.
      previous = undefined;
      if (++outside > 2) break;
      continue;
    }
    outside = 0;
    const within = stop.element === previous; // Still in one control (a video's own buttons).
    previous = stop.element;
    if (within) continue;
    if (stops[0]?.element === stop.element) break; // All the way round.
    if (!stops.some((seen) => seen.element === stop.element)) stops.push(stop);
  }
  return stops;
}

/**
 * Presses Tab from the top of the page until the element `selector` has focus, and says what that
 * stop shows as its focus indicator; throws if Tab never gets there.
 */
export async function tabTo(page: Page, selector: string, limit = 30): Promise<FocusStop> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate((wanted) => {
      const element = document.activeElement;
      if (!element?.matches(wanted)) return null;
      const style = getComputedStyle(element);
      return { element: wanted, outline: { style: style.outlineStyle, width: parseFloat(style.outlineWidth) } };
    }, selector);
    if (stop) return stop;
  }
  throw new Error(`${limit} presses of Tab never reached ${selector}`);
}

/** A focus indicator a sighted keyboard user can see: a solid outline of at least 2 px. */
export function hasVisibleFocus(stop: FocusStop): boolean {
  return stop.outline.style !== 'none' && stop.outline.width >= 2;
}

export interface Fit {
  /** The page is wider than the window (a horizontal scroll bar). */
  scrollsSideways: boolean;
  /** Of `ids`, those not wholly inside the window as first shown (scrolled to the top). */
  belowTheFold: string[];
  /** The root font size in px (grows on large screens). */
  fontPx: number;
}

/** How the page fits a window of `size`: no sideways scrolling, and `ids` visible without scrolling. */
export async function fitIn(page: Page, size: { width: number; height: number }, ids: string[]): Promise<Fit> {
  await page.setViewportSize(size);
  return page.evaluate((wanted) => {
    window.scrollTo(0, 0);
    const belowTheFold = wanted.filter((id) => {
      const box = document.getElementById(id)!.getBoundingClientRect();
      return box.width === 0 || box.top < 0 || box.bottom > window.innerHeight || box.right > window.innerWidth;
    });
    return {
      scrollsSideways: document.documentElement.scrollWidth > window.innerWidth,
      belowTheFold,
      fontPx: parseFloat(getComputedStyle(document.documentElement).fontSize),
    };
  }, ids);
}

/** A 1280×720 laptop and a 4K screen at 100 %. */
export const SCREENS = { laptop: { width: 1280, height: 720 }, uhd: { width: 3840, height: 2160 } } as const;

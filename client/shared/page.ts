// Small DOM helpers shared by the pages.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

/**
 * Sets an element's text, only when it changes: many of these elements are live regions, and a
 * screen reader may read a region out again whenever its text is rewritten, even to the same words.
 */
export function setText(id: string, text: string): void {
  const element = byId(id);
  if (element.textContent !== text) element.textContent = text;
}

/** The role token from `#token=…`; links carry it in the fragment so it never reaches a server log. */
export function tokenFromHash(): string | null {
  return new URLSearchParams(location.hash.slice(1)).get('token');
}

/** The interview id: the last segment of /interview/<id> or /proctor/<id>. */
export function interviewIdFromPath(): string {
  return decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
}

/**
 * Shows a message in the page's live region (read out by screen readers): an error as an alert
 * (role="alert", read at once), anything else as a polite status.
 */
export function announce(text: string, tone: 'info' | 'error' = 'info'): void {
  const region = byId('message');
  region.setAttribute('role', tone === 'error' ? 'alert' : 'status');
  region.setAttribute('aria-live', tone === 'error' ? 'assertive' : 'polite');
  region.dataset.tone = tone;
  region.textContent = text;
}

// Small DOM helpers shared by the pages.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

export function setText(id: string, text: string): void {
  byId(id).textContent = text;
}

/** The role token from `#token=…`; links carry it in the fragment so it never reaches a server log. */
export function tokenFromHash(): string | null {
  return new URLSearchParams(location.hash.slice(1)).get('token');
}

/** The interview id: the last segment of /interview/<id> or /proctor/<id>. */
export function interviewIdFromPath(): string {
  return decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
}

/** Shows a message in the page's live region (read out by screen readers). */
export function announce(text: string, tone: 'info' | 'error' = 'info'): void {
  const region = byId('message');
  region.textContent = text;
  region.dataset.tone = tone;
}

// The admin page: the admin token (kept in this tab's sessionStorage only), the interviews that
// are live or waiting, and a Watch link that mints a proctor link for each.
import { announce, byId } from '../shared/page.ts';

interface InterviewRow {
  id: string;
  status: string;
  candidateName: string | null;
  durationSeconds: number;
  startedAt: string | null;
  endsAt: string | null;
}

const TOKEN_KEY = 'interview-ingest-admin-token';
const REFRESH_MS = 5000;
const form = byId<HTMLFormElement>('token-form');
const tokenInput = byId<HTMLInputElement>('token');
const table = byId<HTMLTableSectionElement>('interviews');
let refreshTimer: number | undefined;

async function api<T>(method: 'GET' | 'POST', path: string): Promise<T> {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  const response = await fetch(path, { method, headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json().catch(() => ({}))) as T & { message?: string };
  if (!response.ok) throw Object.assign(new Error(body.message ?? `HTTP ${response.status}`), { status: response.status });
  return body;
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

/** Opens the live proctor page, or for a finished interview the review page (same proctor token). */
async function watch(id: string, button: HTMLButtonElement, page: 'proctor' | 'review'): Promise<void> {
  button.disabled = true;
  try {
    const { proctorUrl } = await api<{ proctorUrl: string }>('POST', `/api/interviews/${id}/proctor-link`);
    window.open(page === 'review' ? proctorUrl.replace(`/proctor/${id}#`, `/review/${id}#`) : proctorUrl, '_blank', 'noopener');
  } catch (error) {
    announce(`Could not open the interview: ${error instanceof Error ? error.message : String(error)}`, 'error');
  } finally {
    button.disabled = false;
  }
}

const MAX_ROWS = 100;
const statusOrder = ['live', 'created', 'finalizing', 'failed', 'completed'];
const statusLabels: Record<string, string> = {
  live: 'Live',
  created: 'Waiting for the candidate',
  finalizing: 'Saving recordings',
  failed: 'Upload failed (retry-upload)',
  completed: 'Recorded',
};

async function refresh(): Promise<void> {
  let rows: InterviewRow[];
  try {
    rows = (await api<InterviewRow[]>('GET', '/api/interviews')).slice(0, MAX_ROWS);
  } catch (error) {
    const unauthorized = (error as { status?: number }).status === 401;
    announce(unauthorized ? 'That admin token was refused.' : `Could not load interviews: ${error instanceof Error ? error.message : String(error)}`, 'error');
    if (unauthorized) {
      sessionStorage.removeItem(TOKEN_KEY);
      form.hidden = false;
      clearInterval(refreshTimer);
    }
    return;
  }
  rows.sort((a, b) => statusOrder.indexOf(a.status) - statusOrder.indexOf(b.status));
  table.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement('tr');
      const ends = row.endsAt ? new Date(row.endsAt).toLocaleTimeString() : '–';
      tr.append(cell(row.candidateName ?? '(no name)'), cell(statusLabels[row.status] ?? row.status), cell(ends));
      const action = document.createElement('td');
      const page = row.status === 'live' || row.status === 'created' ? 'proctor' : row.status === 'completed' ? 'review' : null;
      if (page) {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = `${page === 'proctor' ? 'Watch' : 'Review'} ${row.candidateName ?? row.id}`;
        button.addEventListener('click', () => void watch(row.id, button, page));
        action.append(button);
      }
      tr.append(action);
      return tr;
    }),
  );
  byId('empty').hidden = rows.length > 0;
  announce(`${rows.filter((row) => row.status === 'live').length} live, updated ${new Date().toLocaleTimeString()}`);
}

function start(): void {
  form.hidden = true;
  void refresh();
  clearInterval(refreshTimer);
  refreshTimer = window.setInterval(() => void refresh(), REFRESH_MS);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
  tokenInput.value = '';
  start();
});
if (sessionStorage.getItem(TOKEN_KEY)) start();

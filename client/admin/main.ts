// The admin page: the admin token (kept in this tab's sessionStorage only); create an interview
// and copy its links; the live interviews, then every interview page by page (nothing is cut off);
// per interview its status, time left, gaps, upload progress, Watch / Review and delete recordings.
import type { FileProgress, InterviewView } from '../../shared/vocabulary.ts';
import { announce, byId } from '../shared/page.ts';

type InterviewRow = InterviewView;

const TOKEN_KEY = 'interview-ingest-admin-token';
const REFRESH_MS = 5000;
const PAGE_SIZE = 20;
const form = byId<HTMLFormElement>('token-form');
const tokenInput = byId<HTMLInputElement>('token');
let refreshTimer: number | undefined;
let offset = 0;

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ body: T; headers: Headers }> {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await response.json().catch(() => ({}))) as T & { message?: string };
  if (!response.ok) throw new ApiError(response.status, parsed.message ?? `HTTP ${response.status}`);
  return { body: parsed, headers: response.headers };
}

function cell(text: string, title?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (title) td.title = title;
  return td;
}

const statusLabels: Record<string, string> = {
  live: 'Live',
  created: 'Waiting for the candidate',
  finalizing: 'Saving recordings',
  failed: 'Upload failed (retry-upload)',
  completed: 'Recorded',
};

function timeLeft(row: InterviewRow, now: number): string {
  if (row.status === 'created') return `${Math.round(row.durationSeconds / 60)} min once started`;
  if (row.status !== 'live' || !row.endsAt) return '–';
  const seconds = Math.max(0, Math.round((Date.parse(row.endsAt) - now) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

function gapsText(row: InterviewRow): [string, string | undefined] {
  if (row.gaps.length === 0) return ['none', undefined];
  const seconds = row.gaps.reduce((sum, gap) => sum + (gap.end ? (Date.parse(gap.end) - Date.parse(gap.start)) / 1000 : 0), 0);
  return [`${row.gaps.length} (${seconds.toFixed(1)} s)`, row.gaps.map((gap) => `${gap.cause}: ${gap.start} → ${gap.end ?? 'open'}`).join('\n')];
}

async function recordingsText(row: InterviewRow): Promise<string> {
  if (row.recordingsDeletedAt) return `deleted ${new Date(row.recordingsDeletedAt).toLocaleString()}`;
  if (row.status === 'completed') return 'saved';
  if (row.status !== 'finalizing' && row.status !== 'failed') return '–';
  try {
    const { body } = await api<{ files: FileProgress[] }>('GET', `/api/interviews/${row.id}`);
    if (body.files.length === 0) return 'preparing';
    return body.files
      .map((file) => `${file.kind} ${file.status === 'uploaded' ? '100' : file.sizeBytes > 0 ? Math.floor((100 * file.uploadedBytes) / file.sizeBytes) : 0}%`)
      .join(', ');
  } catch {
    return '…';
  }
}

/** Opens the live proctor page, or for a finished interview the review page (same proctor token). */
async function open(id: string, button: HTMLButtonElement, page: 'proctor' | 'review'): Promise<void> {
  button.disabled = true;
  try {
    const { body } = await api<{ proctorUrl: string }>('POST', `/api/interviews/${id}/proctor-link`);
    window.open(page === 'review' ? body.proctorUrl.replace(`/proctor/${id}#`, `/review/${id}#`) : body.proctorUrl, '_blank', 'noopener');
  } catch (error) {
    announce(`Could not open the interview: ${(error as Error).message}`, 'error');
  } finally {
    button.disabled = false;
  }
}

async function deleteRecordings(row: InterviewRow, button: HTMLButtonElement): Promise<void> {
  const who = row.candidateName ?? row.id;
  if (!window.confirm(`Delete both recordings of ${who} for good? This cannot be undone.`)) return;
  button.disabled = true;
  try {
    await api('DELETE', `/api/interviews/${row.id}/recordings`);
    await refresh();
    announce(`The recordings of ${who} are deleted.`);
  } catch (error) {
    announce(`Could not delete the recordings: ${(error as Error).message}`, 'error');
    button.disabled = false;
  }
}

function actionButton(label: string, onClick: (button: HTMLButtonElement) => void, danger = false): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  if (danger) button.className = 'danger';
  button.addEventListener('click', () => onClick(button));
  return button;
}

async function renderRows(body: HTMLTableSectionElement, rows: InterviewRow[]): Promise<void> {
  const now = Date.now();
  const recordings = await Promise.all(rows.map(recordingsText));
  body.replaceChildren(
    ...rows.map((row, index) => {
      const tr = document.createElement('tr');
      const [gaps, gapsTitle] = gapsText(row);
      tr.append(cell(row.candidateName ?? '(no name)'), cell(statusLabels[row.status] ?? row.status), cell(timeLeft(row, now)), cell(gaps, gapsTitle), cell(recordings[index]!));
      const actions = document.createElement('td');
      const name = row.candidateName ?? row.id;
      if (row.status === 'live' || row.status === 'created') actions.append(actionButton(`Watch ${name}`, (b) => void open(row.id, b, 'proctor')));
      if (row.status === 'completed' && !row.recordingsDeletedAt) actions.append(actionButton(`Review ${name}`, (b) => void open(row.id, b, 'review')));
      if ((row.status === 'completed' || row.status === 'failed') && !row.recordingsDeletedAt) {
        actions.append(' ', actionButton(`Delete recordings of ${name}`, (b) => void deleteRecordings(row, b), true));
      }
      tr.append(actions);
      return tr;
    }),
  );
}

async function refresh(): Promise<void> {
  let live: InterviewRow[];
  let page: InterviewRow[];
  let total: number;
  try {
    // Every live interview, however many; then one page of all of them.
    live = (await api<InterviewRow[]>('GET', '/api/interviews?status=live&limit=500')).body;
    const answer = await api<InterviewRow[]>('GET', `/api/interviews?limit=${PAGE_SIZE}&offset=${offset}`);
    page = answer.body;
    total = Number(answer.headers.get('x-total-count') ?? page.length);
  } catch (error) {
    const unauthorized = error instanceof ApiError && error.status === 401;
    announce(unauthorized ? 'That admin token was refused.' : `Could not load interviews: ${(error as Error).message}`, 'error');
    if (unauthorized) {
      sessionStorage.removeItem(TOKEN_KEY);
      form.hidden = false;
      byId('admin').hidden = true;
      clearInterval(refreshTimer);
    }
    return;
  }
  if (page.length === 0 && offset > 0) {
    offset = Math.max(0, offset - PAGE_SIZE);
    return refresh();
  }
  await Promise.all([renderRows(byId<HTMLTableSectionElement>('live'), live), renderRows(byId<HTMLTableSectionElement>('interviews'), page)]);
  byId('no-live').hidden = live.length > 0;
  byId('empty').hidden = total > 0;
  byId('page-info').textContent = total > 0 ? `${offset + 1}–${offset + page.length} of ${total}` : '';
  byId<HTMLButtonElement>('previous').disabled = offset === 0;
  byId<HTMLButtonElement>('next').disabled = offset + page.length >= total;
  // Its own line: the periodic refresh must not wipe a message the admin has not read yet.
  byId('updated').textContent = `${live.length} live, updated ${new Date().toLocaleTimeString()}`;
}

async function copy(inputId: string, what: string): Promise<void> {
  const input = byId<HTMLInputElement>(inputId);
  try {
    await navigator.clipboard.writeText(input.value);
    announce(`The ${what} is copied.`);
  } catch {
    // No clipboard permission (e.g. plain http on another host): leave it selected to copy by hand.
    input.select();
    announce(`Press Ctrl+C (⌘C) to copy the ${what}.`);
  }
}

byId<HTMLFormElement>('create-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = byId<HTMLInputElement>('candidate-name').value.trim();
  const minutes = Number(byId<HTMLInputElement>('duration').value);
  void (async () => {
    try {
      const { body } = await api<{ candidateUrl: string; proctorUrl: string }>('POST', '/api/interviews', {
        durationSeconds: Math.round(minutes * 60),
        ...(name ? { candidateName: name } : {}),
      });
      byId<HTMLInputElement>('candidate-link').value = body.candidateUrl;
      byId<HTMLInputElement>('proctor-link').value = body.proctorUrl;
      byId('links').hidden = false;
      offset = 0;
      await refresh();
      announce(`The interview${name ? ` with ${name}` : ''} is created: copy its links below.`);
    } catch (error) {
      announce(`Could not create the interview: ${(error as Error).message}`, 'error');
    }
  })();
});
byId('copy-candidate').addEventListener('click', () => void copy('candidate-link', 'candidate link'));
byId('copy-proctor').addEventListener('click', () => void copy('proctor-link', 'proctor link'));
byId('previous').addEventListener('click', () => {
  offset = Math.max(0, offset - PAGE_SIZE);
  void refresh();
});
byId('next').addEventListener('click', () => {
  offset += PAGE_SIZE;
  void refresh();
});

function start(): void {
  form.hidden = true;
  byId('admin').hidden = false;
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

// The timeline's catalogue: each event kind in plain words, for the proctor's live list and the
// review page's markers and filters, in one place. The kinds are codes and never shown; the
// compiler checks every kind has its words (test/browser/plainWords scans the rendered pages).
import type { TimelineDetails, TimelineEvent, TimelineEventKind } from '../../shared/timeline.ts';

export const TIMELINE_WORDS: Record<TimelineEventKind, string> = {
  tab_hidden: 'Left the interview tab',
  tab_visible: 'Came back to the interview tab',
  window_blurred: 'Switched to another window or tab',
  window_focused: 'Came back to the interview window',
  fullscreen_exited: 'Left full screen',
  screen_share_stopped: 'Stopped sharing the screen',
  screen_share_restarted: 'Shared the screen again',
  screen_surface_changed: 'Changed what is shared',
  camera_muted: 'Camera turned off',
  camera_unmuted: 'Camera back on',
  camera_ended: 'Camera stopped',
  camera_switched: 'Switched to another camera',
  microphone_muted: 'Microphone muted',
  microphone_unmuted: 'Microphone back on',
  microphone_ended: 'Microphone stopped',
  microphone_switched: 'Switched to another microphone',
  second_screen_suspected: 'A second screen may be connected',
  copied: 'Copied something',
  pasted: 'Pasted something',
  page_reloaded: 'Reloaded the interview page',
  page_left: 'Closed or left the interview page',
  interview_live: 'Interview started',
  recording_gap: 'Recording interrupted',
  candidate_disconnected: 'Candidate lost the connection',
  candidate_reconnected: 'Candidate reconnected',
  media_path: 'Connection route',
  media_path_changed: 'Connection route changed',
  resolution_dropped: 'Picture quality dropped',
  resolution_recovered: 'Picture quality recovered',
  packet_loss_high: 'Connection losing data',
  packet_loss_recovered: 'Connection steady again',
  proctor_joined: 'A proctor started watching',
  proctor_left: 'A proctor stopped watching',
  interview_ended: 'Interview ended',
  events_dropped: 'Too many events: some were not kept',
};

/** Where a copy or paste happened (the page reports where, never what). */
const PLACE_WORDS: Record<string, string> = { input: 'in a text field', textarea: 'in a text box', editable: 'in an editable area', page: 'on the page' };
/** Why a gap or the end happened: the gaps' causes are words already; the end's are codes. */
const CAUSE_WORDS: Record<string, string> = {
  timer: 'time was up',
  proctor: 'by a proctor',
  admin: 'by an administrator',
  'service restarted': 'the service restarted',
  'recorder restarted': 'the recorder restarted',
  'media server restarted': 'the media server restarted',
  'candidate reconnected': 'the candidate reconnected',
  'candidate connection lost': 'the candidate’s connection was lost',
  'candidate left': 'the candidate left',
};
const SURFACE_WORDS: Record<string, string> = { monitor: 'an entire screen', window: 'a window', browser: 'a browser tab' };

/** The few details worth words, as a short phrase (empty when there are none). */
function detailWords(details: TimelineDetails): string {
  const parts: string[] = [];
  if (typeof details.target === 'string' && PLACE_WORDS[details.target]) parts.push(PLACE_WORDS[details.target]!);
  if (details.by === 'browser') parts.push('by the browser or the device');
  if (details.by === 'page') parts.push('on the page');
  if (typeof details.surface === 'string' && SURFACE_WORDS[details.surface]) parts.push(`(${SURFACE_WORDS[details.surface]})`);
  if (typeof details.to === 'string' && SURFACE_WORDS[details.to]) parts.push(`(now ${SURFACE_WORDS[details.to]})`);
  if (typeof details.device === 'string' && details.device) parts.push(`“${details.device}”`);
  if (typeof details.seconds === 'number') parts.push(`for ${details.seconds} s`);
  if (typeof details.cause === 'string' && CAUSE_WORDS[details.cause]) parts.push(`(${CAUSE_WORDS[details.cause]})`);
  if (typeof details.count === 'number') parts.push(`(${details.count} not kept)`);
  return parts.reduce((words, part) => (!words ? part : part.startsWith('(') ? `${words} ${part}` : `${words}, ${part}`), '');
}

/** "Pasted something in a text field", etc. */
export function eventWords(event: Pick<TimelineEvent, 'kind' | 'details'>): string {
  const details = detailWords(event.details);
  return details ? `${TIMELINE_WORDS[event.kind]} ${details}` : TIMELINE_WORDS[event.kind];
}

/** 83.4 → "1:23". */
export function clockWords(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

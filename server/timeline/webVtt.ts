import type { TimelineEvent, TimelineEventKind } from '../../shared/timeline.ts';

/** How long each event's cue lasts in the WebVTT file (players show a chapter/metadata cue over a span). */
const CUE_SECONDS = 1;

const LABELS: Record<TimelineEventKind, string> = {
  tab_hidden: 'Tab hidden',
  tab_visible: 'Tab visible again',
  window_blurred: 'Window lost focus',
  window_focused: 'Window focused again',
  fullscreen_exited: 'Full screen left',
  screen_share_stopped: 'Screen share stopped',
  screen_share_restarted: 'Screen share restarted',
  screen_surface_changed: 'Shared surface changed',
  camera_muted: 'Camera muted',
  camera_unmuted: 'Camera unmuted',
  camera_ended: 'Camera ended',
  camera_switched: 'Camera switched',
  microphone_muted: 'Microphone muted',
  microphone_unmuted: 'Microphone unmuted',
  microphone_ended: 'Microphone ended',
  microphone_switched: 'Microphone switched',
  second_screen_suspected: 'Second screen suspected',
  copied: 'Copied',
  pasted: 'Pasted',
  page_reloaded: 'Page reloaded',
  page_left: 'Page left',
  interview_live: 'Interview live',
  recording_gap: 'Gap in the recording',
  candidate_disconnected: 'Candidate disconnected',
  candidate_reconnected: 'Candidate reconnected',
  media_path: 'Media path',
  media_path_changed: 'Media path changed',
  resolution_dropped: 'Screen resolution dropped',
  resolution_recovered: 'Screen resolution recovered',
  packet_loss_high: 'High packet loss',
  packet_loss_recovered: 'Packet loss recovered',
  proctor_joined: 'Proctor joined',
  proctor_left: 'Proctor left',
  interview_ended: 'Interview ended',
  events_dropped: 'Events dropped',
};

/** A short human label for an event kind (the cue's first line). */
function timelineLabel(kind: TimelineEventKind): string {
  return LABELS[kind];
}

function timestamp(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const rest = ms % 1000;
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(rest, 3)}`;
}

/** A cue payload never holds "-->" or a blank line (either would end or break the cue). */
function safeLine(text: string): string {
  return text.replaceAll('-->', '→').replace(/[\r\n]+/g, ' ');
}

/**
 * The events as a WebVTT file: one cue per event that has a media time (events before the
 * recording began are left out), at its `mediaSeconds`, lasting a second. The cue's id is the
 * event's seq; its text is the label, then the event as JSON on the second line — readable as
 * chapters (the label) by players and as metadata (the JSON) by scripts (`kind="metadata"`).
 */
export function timelineToWebVtt(events: readonly TimelineEvent[]): string {
  const lines = ['WEBVTT', '', 'NOTE interview timeline: one cue per event at its time in the recordings (label, then the event as JSON)', ''];
  const cued = events.filter((event): event is TimelineEvent & { mediaSeconds: number } => event.mediaSeconds !== null).sort((a, b) => a.mediaSeconds - b.mediaSeconds || a.seq - b.seq);
  for (const event of cued) {
    lines.push(String(event.seq), `${timestamp(event.mediaSeconds)} --> ${timestamp(event.mediaSeconds + CUE_SECONDS)}`, safeLine(timelineLabel(event.kind)), safeLine(JSON.stringify(event)), '');
  }
  return lines.join('\n');
}

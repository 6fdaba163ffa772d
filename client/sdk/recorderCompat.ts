// /sdk/v1/recorder-compat.js: the old recorder's names on top of the SDK, so a host page that
// called them keeps working after replacing its recorder.js with
//   <script src="https://<service>/sdk/v1/interview-ingest.js"></script>
//   <script src="https://<service>/sdk/v1/recorder-compat.js"></script>
//   <script>window.interviewIngestLink = '<the candidateUrl its backend got>';</script>
// startRecording() publishes window.entire_screen_feed, window.video_feed and window.audio_feed;
// sendRecordings() waits (bounded) for the server to end the interview, then goes to the host's
// end page — the create's returnUrl. No recording URL passes through the page: the host's backend
// gets them from the webhook or the API. Every SDK event is also a DOM event on window
// (`interview-ingest:state`, `:error`, `:ended`, …) with the payload in `detail`.
import type { CandidateSession, EndInfo } from './CandidateSession.ts';
import type * as Sdk from './index.ts';

declare global {
  interface Window {
    interviewIngestLink?: string;
    /** How long sendRecordings() waits for the server's end (default 60 000 ms). */
    interviewIngestEndWaitMs?: number;
    interviewIngestSession?: CandidateSession;
    entire_screen_feed?: MediaStream;
    video_feed?: MediaStream;
    audio_feed?: MediaStream;
    startRecording: () => Promise<CandidateSession>;
    sendRecordings: () => Promise<EndInfo | null>;
  }
}

const EVENTS = ['state', 'media', 'time', 'recording', 'gap', 'audio', 'error', 'ended', 'timeline'] as const;

function sdk(): typeof Sdk {
  const loaded = (window as unknown as { InterviewIngest?: typeof Sdk }).InterviewIngest;
  if (!loaded) throw new Error('interview-ingest: load /sdk/v1/interview-ingest.js before recorder-compat.js');
  return loaded;
}

window.startRecording = async () => {
  const { IngestError, join } = sdk();
  const link = window.interviewIngestLink;
  if (!link) throw new IngestError('link_invalid', { cause: 'window.interviewIngestLink is not set' });
  window.interviewIngestSession?.leave();
  const session = join(link);
  window.interviewIngestSession = session;
  for (const name of EVENTS) session.on(name, (detail: unknown) => window.dispatchEvent(new CustomEvent(`interview-ingest:${name}`, { detail })));
  await session.ready();
  await session.publish({ screen: window.entire_screen_feed, camera: window.video_feed, microphone: window.audio_feed });
  return session;
};

window.sendRecordings = async () => {
  const session = window.interviewIngestSession;
  if (!session) return null;
  const end = await session.waitForEnd(window.interviewIngestEndWaitMs ?? 60_000);
  const returnUrl = end?.returnUrl ?? session.returnUrl;
  session.leave();
  if (returnUrl) location.assign(returnUrl);
  return end;
};

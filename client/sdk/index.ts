// interview-ingest's browser SDK: publish a candidate's screen, camera and microphone from the
// host's own page. `import { join } from 'interview-ingest/client'`, or the script
// /sdk/v1/interview-ingest.js (global `InterviewIngest`). See the README, "Embedding in your app".
export { CandidateSession, join, type AudioRoute, type CaptureSteps, type ClientGap, type EndInfo, type JoinOptions, type MediaConnectionState, type SessionEvents, type SessionState } from './CandidateSession.ts';
export { IngestError, INGEST_ERROR_CODES, type IngestErrorCode, type IngestErrorDetails, type TrackRole } from './IngestError.ts';
export { messageFor } from './messages.ts';
export { missingCapabilities, missingDevices, type Capability } from './capabilities.ts';
export { captureCameraAndMicrophone, captureScreen, type ScreenCapture } from './capture.ts';
export type { HostMedia, StreamOrTrack } from './hostMedia.ts';
export type { TimelineReport } from './TimelineWatchers.ts';
export type { CandidateEventKind, TimelineDetails } from '../../shared/timeline.ts';
export { SDK_VERSION } from './version.ts';

// The script build of the SDK (/sdk/v1/interview-ingest.js): the same API on `window.InterviewIngest`.
import * as InterviewIngest from './index.ts';

declare global {
  interface Window {
    InterviewIngest: typeof InterviewIngest;
  }
}

window.InterviewIngest = InterviewIngest;

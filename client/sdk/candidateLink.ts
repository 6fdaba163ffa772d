// A candidate link as the admin API returns it: `<origin>/interview/<id>#token=<role token>`.
// The SDK reads everything it needs from it; nothing else about the service comes from the page.
import { IngestError } from './IngestError.ts';

export interface CandidateLink {
  /** The service's origin, where signalling goes. */
  origin: string;
  interviewId: string;
  token: string;
}

const INTERVIEW_PATH = /^\/interview\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i;

export function parseCandidateLink(candidateUrl: string): CandidateLink {
  let url: URL;
  try {
    url = new URL(candidateUrl, typeof location === 'undefined' ? undefined : location.href);
  } catch {
    throw new IngestError('link_invalid', { cause: 'not a URL' });
  }
  const match = INTERVIEW_PATH.exec(url.pathname);
  const token = new URLSearchParams(url.hash.slice(1)).get('token');
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !match?.[1] || !token) {
    throw new IngestError('link_invalid', { cause: 'not a candidate link (<origin>/interview/<id>#token=…)' });
  }
  return { origin: url.origin, interviewId: match[1].toLowerCase(), token };
}

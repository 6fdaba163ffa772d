// A candidate page's event reports, from a process of its own so that the bench measures the
// service's CPU without the client's (socket.io encoding, acks). Started by bench/timelineCost.ts:
//   node --import tsx bench/reportClientProcess.ts <serviceUrl> <candidateToken> <interviewId> <reportsPerSecond>
// Joins as the candidate, prints `ready`, then for each `report <ms>` line on stdin sends reports at
// the given rate for that long and prints `{"accepted":N,"refused":N}`; exits on `quit` or EOF.
import readline from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { io } from 'socket.io-client';
import { SIGNALING_NAMESPACE } from '../shared/protocol.ts';

const [url, token, interviewId, rateText] = process.argv.slice(2);
const rate = Number(rateText);
const KINDS = ['window_blurred', 'window_focused', 'tab_hidden', 'tab_visible', 'copied'] as const;

const socket = io(`${url}${SIGNALING_NAMESPACE}`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
await socket.timeout(10_000).emitWithAck('join', { interviewId });
console.log('ready');

let sent = 0;
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [command, value] = line.trim().split(' ');
  if (command === 'quit') break;
  if (command !== 'report') continue;
  let accepted = 0;
  let refused = 0;
  const started = Date.now();
  const until = started + Number(value);
  // On a fixed schedule, so that a slow answer does not lower the rate.
  for (let i = 0; Date.now() < until; i++) {
    const answer = (await socket.timeout(10_000).emitWithAck('reportEvent', { kind: KINDS[sent % KINDS.length], at: Date.now(), details: { n: sent } })) as { ok: boolean; data?: { accepted: boolean } };
    sent++;
    if (answer.ok && answer.data?.accepted) accepted++;
    else refused++;
    await delay(Math.max(0, started + ((i + 1) * 1000) / rate - Date.now()));
  }
  console.log(JSON.stringify({ accepted, refused }));
}
socket.disconnect();
process.exit(0);

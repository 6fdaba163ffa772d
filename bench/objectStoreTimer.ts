// Times every request the service makes to the object store (each attempt, at the S3 client's
// deserialize step, i.e. around the HTTP exchange), so the bench can tell the store's time from ours.
import type { S3Client } from '@aws-sdk/client-s3';

interface TimedRequest {
  key: string;
  startedAt: number;
  endedAt: number;
}

const MIDDLEWARE_NAME = 'benchObjectStoreTimer';

export class ObjectStoreTimer {
  readonly #client: S3Client;
  readonly #requests: TimedRequest[] = [];

  private constructor(client: S3Client) {
    this.#client = client;
  }

  static attach(client: S3Client): ObjectStoreTimer {
    const timer = new ObjectStoreTimer(client);
    client.middlewareStack.add(
      (next) => async (args) => {
        const startedAt = Date.now();
        try {
          return await next(args);
        } finally {
          timer.#requests.push({ key: String((args.input as { Key?: unknown }).Key ?? ''), startedAt, endedAt: Date.now() });
        }
      },
      { step: 'deserialize', name: MIDDLEWARE_NAME },
    );
    return timer;
  }

  /**
   * Wall time (ms) inside requests whose key contains `keyPart`, within [from, to]: overlapping
   * requests (two files' parts at once) count once, as the wait they cause does.
   */
  busyMs(keyPart: string, from: number, to: number): number {
    const spans = this.#requests
      .filter((request) => request.key.includes(keyPart) && request.endedAt > from && request.startedAt < to)
      .map((request) => [Math.max(from, request.startedAt), Math.min(to, request.endedAt)] as const)
      .sort((a, b) => a[0] - b[0]);
    let busy = 0;
    let reach = from;
    for (const [start, end] of spans) {
      if (end <= reach) continue;
      busy += end - Math.max(start, reach);
      reach = end;
    }
    return busy;
  }

  detach(): void {
    this.#client.middlewareStack.remove(MIDDLEWARE_NAME);
  }
}

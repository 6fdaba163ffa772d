import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import { InterviewRoom } from './InterviewRoom.ts';
import type { RoomTransportSettings } from './transportOptions.ts';
import type { WorkerPool } from './WorkerPool.ts';

export type RoomRegistryEvents = {
  /** A room was opened for an interview (again, after a worker died or the room idled out). */
  room: [room: InterviewRoom];
};

export interface RoomRegistryOptions {
  workers: WorkerPool;
  transport: RoomTransportSettings;
  logger: Logger;
  idleCloseMs?: number;
}

/** The open interview rooms, at most one per interview. */
export class RoomRegistry extends EventEmitter<RoomRegistryEvents> {
  readonly #options: RoomRegistryOptions;
  readonly #rooms = new Map<string, InterviewRoom>();
  // Concurrent opens of the same interview (candidate and proctors arriving together) share one room.
  readonly #opening = new Map<string, Promise<InterviewRoom>>();
  #closed = false;

  constructor(options: RoomRegistryOptions) {
    super();
    this.#options = options;
  }

  get(interviewId: string): InterviewRoom | undefined {
    return this.#rooms.get(interviewId);
  }

  get rooms(): InterviewRoom[] {
    return [...this.#rooms.values()];
  }

  async open(interviewId: string): Promise<InterviewRoom> {
    if (this.#closed) throw new AppError('unavailable', 'the service is shutting down');
    const existing = this.#rooms.get(interviewId);
    if (existing && !existing.closed) return existing;
    let opening = this.#opening.get(interviewId);
    if (!opening) {
      opening = this.#create(interviewId).finally(() => this.#opening.delete(interviewId));
      this.#opening.set(interviewId, opening);
    }
    return opening;
  }

  async #create(interviewId: string): Promise<InterviewRoom> {
    let room: InterviewRoom;
    try {
      room = await InterviewRoom.create({ ...this.#options, interviewId });
    } catch (error) {
      this.#options.logger.error({ err: error, interviewId }, 'could not open an interview room');
      throw new AppError('unavailable', 'no media server is available right now; try again shortly');
    }
    if (this.#closed) {
      room.close('shutdown');
      throw new AppError('unavailable', 'the service is shutting down');
    }
    this.#rooms.set(interviewId, room);
    room.once('closed', () => {
      if (this.#rooms.get(interviewId) === room) this.#rooms.delete(interviewId);
    });
    this.emit('room', room);
    return room;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const room of [...this.#rooms.values()]) room.close('shutdown');
  }
}

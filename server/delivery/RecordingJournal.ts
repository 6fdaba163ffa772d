import fs from 'node:fs/promises';
import path from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { segmentName } from '../../recorder-pipeline/recordingPaths.ts';
import { listSegments, readSegmentMediaStart, segmentDir, segmentFile, writeSegmentMediaStart } from '../../recorder-pipeline/segments.ts';
import { RECORDING_FILE_KINDS, type RecordingFileKind } from '../../shared/vocabulary.ts';
import { journalBytes, journalShipments } from '../metrics/counters.ts';
import type { ObjectStore } from '../storage/ObjectStore.ts';

export interface RecordingJournalOptions {
  objectStore: ObjectStore;
  interviewId: string;
  /** The interview's recording directory (segments are journaled from and restored into it). */
  directory: string;
  /** How often new bytes of a growing segment file are shipped. */
  intervalMs: number;
  logger: Logger;
}

/** One journaled object: `bytes` of a segment file from `offset`. */
interface Chunk {
  key: string;
  segment: number;
  file: RecordingFileKind;
  offset: number;
  size: number;
  lastModified: Date | undefined;
}

/** A segment file being shipped while ffmpeg writes it. */
interface FileShipper {
  segment: number;
  file: RecordingFileKind;
  path: string;
  shipped: number;
  running: Promise<void>;
}

const OFFSET_DIGITS = 12;
/** Beside a segment's chunks: when its media began (the timeline's media times count from it). */
const MEDIA_START_KEY = 'media-start';
/** A journal key: a segment's media start, or one chunk of one of its files. */
const MEDIA_START_PATTERN = new RegExp(`segment-(\\d+)/${MEDIA_START_KEY}$`);
const CHUNK_PATTERN = /segment-(\d+)\/(screen|candidate)\/(\d+)$/;

const journalPrefixOf = (interviewId: string): string => `journal/${interviewId}/`;

/**
 * The object store as the recording's journal: while ffmpeg writes a segment, the bytes it added
 * are shipped every `intervalMs` as one small object each
 * (`journal/<interview>/segment-NNN/<file>/<offset>`), so the recording outlives the node's disk.
 * A node that starts recording or delivering an interview whose segments are not on its disk (the
 * old node's disk is gone, or another node owned it) restores them from the journal first. Once
 * the final files are stored, the journal is deleted.
 *
 * What a lost node costs is the bytes written since the last shipment (≤ `intervalMs`) plus what
 * ffmpeg had not written yet (its open ≤ 1 s cluster); the restored file ends mid-cluster, as a
 * killed ffmpeg's does, and finalize repairs it the same way.
 */
export class RecordingJournal {
  readonly #options: RecordingJournalOptions;
  readonly #prefix: string;
  readonly #shippers = new Map<string, FileShipper>();
  /** Segments' media starts not journaled yet (a refused PutObject is tried again at the next tick). */
  readonly #mediaStarts = new Map<number, Date>();
  #timer: NodeJS.Timeout | undefined;
  #restored: Promise<void> | undefined;

  constructor(options: RecordingJournalOptions) {
    this.#options = options;
    this.#prefix = journalPrefixOf(options.interviewId);
  }

  /** The recording started writing segment `index` in `dir`: its files are shipped as they grow. */
  segmentStarted(index: number, dir: string): void {
    for (const file of RECORDING_FILE_KINDS) {
      const shipper: FileShipper = { segment: index, file, path: segmentFile(dir, file), shipped: 0, running: Promise.resolve() };
      this.#shippers.set(`${index}/${file}`, shipper);
    }
    if (!this.#timer) {
      this.#timer = setInterval(() => {
        for (const shipper of this.#shippers.values()) this.#ship(shipper);
        for (const [index, at] of this.#mediaStarts) void this.#shipMediaStart(index, at);
      }, this.#options.intervalMs);
      this.#timer.unref();
    }
  }

  /**
   * Segment `index`'s media began at `at` (its media-start.json): journaled too, or a node that
   * restores the segment could not place the timeline's events in it.
   */
  mediaStarted(index: number, at: Date): void {
    this.#mediaStarts.set(index, at);
    void this.#shipMediaStart(index, at);
  }

  async #shipMediaStart(index: number, at: Date): Promise<void> {
    const key = `${this.#prefix}${segmentName(index)}/${MEDIA_START_KEY}`;
    const body = Buffer.from(at.toISOString(), 'utf8');
    try {
      await this.#options.objectStore.client.send(new PutObjectCommand({ Bucket: this.#options.objectStore.bucket, Key: key, Body: body, ContentLength: body.length }));
      if (this.#mediaStarts.get(index) === at) this.#mediaStarts.delete(index);
    } catch (error) {
      this.#options.logger.warn({ err: error, key }, "could not journal a segment's media start; retrying at the next shipment");
    }
  }

  /** Segment `index` is complete (its ffmpeg exited): what is left of it is shipped, then it is done. */
  async segmentEnded(index: number): Promise<void> {
    const ending = [...this.#shippers.values()].filter((shipper) => shipper.segment === index);
    for (const shipper of ending) this.#shippers.delete(`${index}/${shipper.file}`);
    await Promise.all(ending.map((shipper) => this.#ship(shipper)));
  }

  /** Ships what every followed file has left and stops following (the recording stopped). */
  async flush(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const shippers = [...this.#shippers.values()];
    this.#shippers.clear();
    await Promise.all([...shippers.map((shipper) => this.#ship(shipper)), ...[...this.#mediaStarts].map(([index, at]) => this.#shipMediaStart(index, at))]);
  }

  /** One shipment at a time per file; a failed one is retried at the next tick (the bytes are on disk). */
  #ship(shipper: FileShipper): Promise<void> {
    shipper.running = shipper.running.then(() => this.#shipOnce(shipper)).catch((error: unknown) => {
      this.#options.logger.warn({ err: error, file: shipper.path }, 'could not read recording bytes to journal; retrying at the next shipment');
    });
    return shipper.running;
  }

  async #shipOnce(shipper: FileShipper): Promise<void> {
    const size = await fs.stat(shipper.path).then((stat) => stat.size, () => 0);
    if (size <= shipper.shipped) return;
    const length = size - shipper.shipped;
    const body = Buffer.alloc(length);
    const handle = await fs.open(shipper.path, 'r');
    try {
      await handle.read(body, 0, length, shipper.shipped);
    } finally {
      await handle.close();
    }
    const key = `${this.#prefix}${segmentName(shipper.segment)}/${shipper.file}/${String(shipper.shipped).padStart(OFFSET_DIGITS, '0')}`;
    try {
      await this.#options.objectStore.client.send(new PutObjectCommand({ Bucket: this.#options.objectStore.bucket, Key: key, Body: body, ContentLength: length }));
      shipper.shipped = size;
      journalShipments.inc();
      journalBytes.inc(length);
    } catch (error) {
      this.#options.logger.warn({ err: error, key }, 'could not journal recording bytes; retrying at the next shipment');
    }
  }

  /**
   * Brings back every journaled segment file this disk lacks (or holds less of than the journal).
   * Once per journal; never throws (a journal that cannot be read leaves the disk as it is).
   */
  restore(): Promise<void> {
    this.#restored ??= this.#restore().catch((error: unknown) => this.#options.logger.error({ err: error }, 'could not restore the recording from its journal'));
    return this.#restored;
  }

  async #restore(): Promise<void> {
    const { chunks, mediaStarts } = await this.#list();
    await this.#restoreChunks(chunks);
    await this.#restoreMediaStarts(mediaStarts);
  }

  async #restoreChunks(chunks: Chunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const onDisk = new Set((await listSegments(this.#options.directory)).map((segment) => segment.index));
    const byFile = new Map<string, Chunk[]>();
    for (const chunk of chunks) {
      const key = `${chunk.segment}/${chunk.file}`;
      if (!byFile.has(key)) byFile.set(key, []);
      byFile.get(key)!.push(chunk);
    }
    let restoredBytes = 0;
    for (const fileChunks of byFile.values()) {
      fileChunks.sort((a, b) => a.offset - b.offset);
      const { segment, file } = fileChunks[0]!;
      // The bytes the journal holds without a hole from the start of the file.
      const contiguous: Chunk[] = [];
      let journaled = 0;
      for (const chunk of fileChunks) {
        if (chunk.offset !== journaled) break;
        contiguous.push(chunk);
        journaled += chunk.size;
      }
      const target = segmentFile(segmentDir(this.#options.directory, segment), file);
      const local = await fs.stat(target).then((stat) => stat.size, () => 0);
      if (onDisk.has(segment) && local >= journaled) continue;
      await fs.mkdir(path.dirname(target), { recursive: true });
      const staged = `${target}.restoring`;
      const handle = await fs.open(staged, 'w');
      try {
        for (const chunk of contiguous) {
          const object = await this.#options.objectStore.client.send(new GetObjectCommand({ Bucket: this.#options.objectStore.bucket, Key: chunk.key }));
          await handle.write(Buffer.from(await object.Body!.transformToByteArray()));
        }
      } finally {
        await handle.close();
      }
      await fs.rename(staged, target);
      // The last write is when the journal last received bytes: where an outage begins.
      const last = contiguous.at(-1)?.lastModified;
      if (last) await fs.utimes(target, last, last);
      restoredBytes += journaled;
    }
    if (restoredBytes > 0) this.#options.logger.warn({ bytes: restoredBytes, files: byFile.size }, 'recording restored from its journal (the segments were not on this disk)');
  }

  /** Each journaled media start whose segment on this disk has none (restored or not, the segment is the same). */
  async #restoreMediaStarts(mediaStarts: Array<{ key: string; segment: number }>): Promise<void> {
    for (const { key, segment } of mediaStarts) {
      const dir = segmentDir(this.#options.directory, segment);
      if (await readSegmentMediaStart(dir)) continue;
      const object = await this.#options.objectStore.client.send(new GetObjectCommand({ Bucket: this.#options.objectStore.bucket, Key: key }));
      const at = new Date(await object.Body!.transformToString());
      if (Number.isNaN(at.getTime())) continue;
      await fs.mkdir(dir, { recursive: true });
      await writeSegmentMediaStart(dir, at);
    }
  }

  async #list(): Promise<{ chunks: Chunk[]; mediaStarts: Array<{ key: string; segment: number }> }> {
    const chunks: Chunk[] = [];
    const mediaStarts: Array<{ key: string; segment: number }> = [];
    let token: string | undefined;
    do {
      const page = await this.#options.objectStore.client.send(new ListObjectsV2Command({ Bucket: this.#options.objectStore.bucket, Prefix: this.#prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        const start = MEDIA_START_PATTERN.exec(object.Key ?? '');
        if (start) mediaStarts.push({ key: object.Key!, segment: Number(start[1]) });
        const match = CHUNK_PATTERN.exec(object.Key ?? '');
        if (!match) continue;
        chunks.push({ key: object.Key!, segment: Number(match[1]), file: match[2] as RecordingFileKind, offset: Number(match[3]), size: object.Size ?? 0, lastModified: object.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return { chunks, mediaStarts };
  }

  /** The final files are stored: the journal goes. */
  async discard(): Promise<void> {
    await this.flush();
    await deleteJournal(this.#options.objectStore, this.#options.interviewId);
  }
}

/**
 * Deletes every object of an interview's journal: after its delivery, and with its recordings (a
 * failed interview keeps its journal for a retry until then). Returns how many there were.
 */
export async function deleteJournal(objectStore: ObjectStore, interviewId: string): Promise<number> {
  let deleted = 0;
  let more = true;
  while (more) {
    // Each round deletes the first page (at most 1,000 keys, DeleteObjects' limit) and lists again.
    const page = await objectStore.client.send(new ListObjectsV2Command({ Bucket: objectStore.bucket, Prefix: journalPrefixOf(interviewId), MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
    if (keys.length > 0) await objectStore.client.send(new DeleteObjectsCommand({ Bucket: objectStore.bucket, Delete: { Objects: keys, Quiet: true } }));
    deleted += keys.length;
    more = page.IsTruncated === true && keys.length > 0;
  }
  return deleted;
}

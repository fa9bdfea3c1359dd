/**
 * One segment file of a partition: records with consecutive offsets from `baseOffset`, named by
 * that base offset (20 digits, zero padded) + `.log`. Only the last segment of a partition is
 * appended to. Reads hold a reference so that retention can unlink a segment under a reader
 * and close its file only when the last reader is done.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { EncodedBatch } from './record-codec.js';
import { SparseOffsetIndex } from './sparse-index.js';

const SEGMENT_NAME = /^(\d{20})\.log$/;

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

/** Base offset of a segment file name, or undefined when the name is not a segment's. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

export interface SegmentState {
  /** Valid bytes (everything before is whole records). */
  size: number;
  /** Offset the next record of this segment would get. */
  nextOffset: number;
  /** Newest record timestamp; -1 when empty. */
  maxTimestamp: number;
  index: SparseOffsetIndex;
  /** Bytes [0, verifiedBytes) have been CRC-checked or were written by this process. */
  verifiedBytes: number;
}

export class Segment {
  size: number;
  nextOffset: number;
  maxTimestamp: number;
  verifiedBytes: number;
  readonly index: SparseOffsetIndex;
  /** Written since the last fsync. */
  dirty = false;
  private refs = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private closing: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    readonly baseOffset: number,
    private readonly fh: FileHandle,
    state: SegmentState,
  ) {
    this.size = state.size;
    this.nextOffset = state.nextOffset;
    this.maxTimestamp = state.maxTimestamp;
    this.index = state.index;
    this.verifiedBytes = state.verifiedBytes;
  }

  /** Creates a new empty segment file (fails if it exists). The caller fsyncs the directory. */
  static async create(dir: string, baseOffset: number, indexIntervalBytes: number): Promise<Segment> {
    const path = join(dir, segmentFileName(baseOffset));
    const fh = await open(path, 'wx+');
    return new Segment(path, baseOffset, fh, {
      size: 0,
      nextOffset: baseOffset,
      maxTimestamp: -1,
      index: new SparseOffsetIndex(indexIntervalBytes),
      verifiedBytes: 0,
    });
  }

  /** Opens an existing segment file read-write; the state comes from scanning it. */
  static async openFile(path: string): Promise<FileHandle> {
    return open(path, 'r+');
  }

  static fromScan(path: string, baseOffset: number, fh: FileHandle, state: SegmentState): Segment {
    return new Segment(path, baseOffset, fh, state);
  }

  get records(): number {
    return this.nextOffset - this.baseOffset;
  }

  /** Writes `length` bytes of `buf` at `position` (retrying short writes). */
  async writeAt(buf: Buffer, length: number, position: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesWritten } = await this.fh.write(buf, done, length - done, position + done);
      done += bytesWritten;
    }
  }

  /** Makes an appended batch visible: size, next offset, index, newest timestamp. */
  commitAppend(batch: EncodedBatch, position: number): void {
    const c = batch.indexCandidates;
    for (let i = 0; i < c.length; i += 2) this.index.maybeAdd(c[i]!, position + c[i + 1]!);
    if (this.verifiedBytes === position) this.verifiedBytes = position + batch.bytes;
    this.size = position + batch.bytes;
    this.nextOffset += batch.count;
    if (batch.maxTimestamp > this.maxTimestamp) this.maxTimestamp = batch.maxTimestamp;
    this.dirty = true;
  }

  /** Reads up to `length` bytes at `position` into `buf`; returns the bytes read. */
  async readAt(buf: Buffer, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async sync(): Promise<void> {
    if (this.closing) return;
    this.dirty = false;
    await this.fh.datasync();
  }

  async truncate(bytes: number): Promise<void> {
    await this.fh.truncate(bytes);
    await this.fh.datasync();
  }

  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.refs === 0) {
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  /** Deletes the file; the handle closes once no reader holds the segment. */
  async retire(): Promise<void> {
    await unlink(this.path);
    await this.close();
  }

  /** Closes the file once no reader holds the segment. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.refs > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await this.fh.close();
    })();
    return this.closing;
  }

  get isClosing(): boolean {
    return this.closing !== undefined;
  }
}

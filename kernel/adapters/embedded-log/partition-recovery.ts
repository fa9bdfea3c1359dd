/**
 * Opening a partition after a clean close or a crash: scans every segment (the last one record
 * by record with CRCs, older ones structurally), cuts a torn tail off the last segment, and
 * refuses damage that cannot be a torn write (LKL_ERR_LOG_CORRUPT with file and position).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../errors/lab-error.js';
import { EMBEDDED_LOG_EVENTS, type TailTruncation } from './instrumentation.js';
import {
  corruptSegment,
  type PartitionContext,
  type PartitionLogOptions,
  type RecoveryStats,
} from './partition-context.js';
import { Segment, parseSegmentFileName, segmentFileName } from './segment.js';
import { scanSegment } from './segment-scanner.js';

export async function recoverSegments(
  dir: string,
  ctx: PartitionContext,
  opts: PartitionLogOptions,
  stats: RecoveryStats,
): Promise<Segment[]> {
  const names = await readdir(dir);
  const bases = names
    .map(parseSegmentFileName)
    .filter((b): b is number => b !== undefined)
    .sort((a, b) => a - b);
  await Promise.all(names.filter((n) => n.includes('.tmp-')).map((n) => rm(join(dir, n), { force: true })));
  const segments: Segment[] = [];
  try {
    if (bases.length === 0) {
      throw new LabError(
        'LKL_ERR_LOG_CORRUPT',
        `Partition directory ${dir} has no segment file. Restore it from a copy, or delete the topic directory to lose its data.`,
        { details: { topic: ctx.topic, partition: ctx.partition, dir } },
      );
    }
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const last = i === bases.length - 1;
      const path = join(dir, segmentFileName(base));
      const prev = segments[segments.length - 1];
      if (prev && prev.nextOffset !== base) {
        throw corruptSegment(
          path,
          0,
          `segment starts at offset ${base} but the previous one ends at ${prev.nextOffset}`,
          ctx,
        );
      }
      const fh = await Segment.openFile(path);
      let scan;
      try {
        scan = await scanSegment(fh, base, {
          verifyChecksums: last || opts.verifyAllSegmentsOnOpen,
          chunkBytes: opts.readChunkBytes,
          maxRecordBytes: opts.maxRecordBytes,
          indexIntervalBytes: opts.indexIntervalBytes,
        });
      } catch (err) {
        await fh.close();
        throw err;
      }
      const segment = Segment.fromScan(path, base, fh, scan.state);
      segments.push(segment);
      stats.segmentsScanned++;
      stats.bytesScanned += scan.damage ? scan.damage.fileSize : scan.state.size;
      const damage = scan.damage;
      if (damage) {
        if (!last || damage.notATornTail) throw corruptSegment(path, damage.position, damage.reason, ctx);
        await segment.truncate(damage.position);
        const truncation: TailTruncation = {
          topic: ctx.topic,
          partition: ctx.partition,
          file: path,
          position: damage.position,
          bytesDropped: damage.fileSize - damage.position,
          reason: damage.reason,
        };
        stats.truncations.push(truncation);
        ctx.instrumentation.emit(EMBEDDED_LOG_EVENTS.TAIL_TRUNCATED, truncation);
      }
    }
  } catch (err) {
    await Promise.all(segments.map((s) => s.close()));
    throw err;
  }
  return segments;
}

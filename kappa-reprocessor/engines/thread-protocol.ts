/** Messages between the worker-thread replay engine and its workers. */
import type { EncodedDelta, EventTimePolicy } from '../operator/index.js';

export interface ReplayThreadData {
  logicVersion: number;
  /** [ad_id, campaign_id] pairs. */
  ads: Array<[string, string]>;
  bots: string[];
  /** [ad_id, new campaign_id] pairs of the moved ads (logic v3). */
  movedAds: Array<[string, string]>;
  policy: EventTimePolicy;
}

export type ToThread =
  | { type: 'init'; partition: number; maxEventTime: number }
  /** Record values of one partition, concatenated; `lengths[i]` is the length of value i; offsets are firstOffset + i. */
  | { type: 'batch'; partition: number; firstOffset: number; text: string; lengths: Uint32Array }
  | { type: 'drain'; id: number; partitions: number[] }
  /** Read [from, to) of a partition straight from its segment files (embedded log). */
  | {
      type: 'scan';
      partition: number;
      dir: string;
      from: number;
      to: number;
      verifyChecksums: boolean;
      maxRecordBytes: number;
    };

export type FromThread =
  | { type: 'ack'; partition: number; count: number }
  | {
      type: 'drained';
      id: number;
      results: Array<{ partition: number; maxEventTime: number; delta: EncodedDelta; next?: number }>;
    }
  | { type: 'scanned'; partition: number; next: number }
  | { type: 'error'; message: string };

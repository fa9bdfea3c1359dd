import { AD_TYPES, EVENT_TYPES, YSB_FIELDS, type YsbEvent } from './ysb-event.js';

export interface DecodeLimits {
  /** Longest accepted record, in bytes (UTF-16 code units as a close proxy). */
  maxRecordBytes: number;
  /** Latest accepted event_time, epoch ms; undefined = no upper bound. */
  maxEventTimeMs?: number;
  /** When given, ad_id must be one of these (the ad → campaign reference data). */
  knownAds?: ReadonlySet<string>;
}

export type DecodeResult = { ok: true; event: YsbEvent } | { ok: false; reason: string };

const AD_TYPE_SET: ReadonlySet<string> = new Set(AD_TYPES);
const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DIGITS_RE = /^\d{1,16}$/;

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxRecordBytes: 4096 };

/**
 * Parses and validates one YSB record. Pure: never throws; a rejection says what is wrong in
 * words a user can act on (the reason goes to the dead-letter topic with the record).
 */
export function decodeEvent(raw: string, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): DecodeResult {
  if (raw.length > limits.maxRecordBytes) {
    return {
      ok: false,
      reason: `record is ${raw.length} bytes, above the ${limits.maxRecordBytes}-byte limit`,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return { ok: false, reason: `not valid JSON: ${(err as Error).message}` };
  }
  return validateEvent(parsed, limits);
}

export function validateEvent(value: unknown, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): DecodeResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'not a JSON object: a YSB event is an object of 7 string fields' };
  }
  const obj = value as Record<string, unknown>;
  for (const field of YSB_FIELDS) {
    if (!(field in obj)) return { ok: false, reason: `missing field "${field}"` };
    if (typeof obj[field] !== 'string') {
      return { ok: false, reason: `field "${field}" must be a string, got ${describeType(obj[field])}` };
    }
  }
  const keys = Object.keys(obj);
  if (keys.length !== YSB_FIELDS.length) {
    const extra = keys.filter((k) => !(YSB_FIELDS as readonly string[]).includes(k));
    return {
      ok: false,
      reason: `unexpected field(s) ${extra.map((k) => `"${k}"`).join(', ')}: a YSB event has exactly 7 fields`,
    };
  }
  const e = obj as unknown as YsbEvent;
  if (!EVENT_TYPE_SET.has(e.event_type)) {
    return { ok: false, reason: `event_type "${e.event_type}" is not one of ${EVENT_TYPES.join(', ')}` };
  }
  if (!AD_TYPE_SET.has(e.ad_type)) {
    return { ok: false, reason: `ad_type "${e.ad_type}" is not one of ${AD_TYPES.join(', ')}` };
  }
  if (!DIGITS_RE.test(e.event_time)) {
    return {
      ok: false,
      reason: `event_time "${e.event_time}" must be non-negative epoch milliseconds as a string of digits`,
    };
  }
  if (limits.maxEventTimeMs !== undefined && Number(e.event_time) > limits.maxEventTimeMs) {
    return {
      ok: false,
      reason: `event_time ${e.event_time} is further in the future than allowed (latest accepted: ${limits.maxEventTimeMs}; setting ingest.maxFutureMs)`,
    };
  }
  for (const field of ['user_id', 'page_id', 'ad_id'] as const) {
    if (!UUID_RE.test(e[field]))
      return { ok: false, reason: `${field} "${truncate(e[field])}" is not a UUID` };
  }
  if (limits.knownAds && !limits.knownAds.has(e.ad_id)) {
    return {
      ok: false,
      reason: `ad_id ${e.ad_id} is not in the reference data (GET /api/reference/ads lists the 1,000 ads)`,
    };
  }
  return { ok: true, event: e };
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Reads the four fields the Kappa job needs (user_id, ad_id, event_type, event_time) out of a
 * YSB record without JSON.parse. Records written by the lab's generator, ingest and import all
 * have YSB's exact layout (kernel/events/ysb-event.ts encodeEvent): fixed 36-character ids and
 * fixed field names, so the scanner checks every delimiter character where it must be and slices
 * the values. Anything else — another field order, whitespace, escapes, ids of another length —
 * goes to the full decoder (JSON.parse), so both paths accept exactly the same records.
 *
 * What Kappa accepts (both paths): a JSON object of exactly YSB's 7 string fields, event_type one
 * of view/click/purchase, ad_type one of YSB's five, event_time 1–16 digits. Ids are opaque (as
 * in YSB): an ad_id that is not in the reference data is dropped by the join, not rejected. Ingest
 * validates UUIDs before records reach the log (kernel/events/event-decoder.ts).
 * Pure; no allocation beyond the value slices.
 */
import { AD_TYPES, EVENT_TYPES, YSB_FIELDS } from '../../kernel/events/ysb-event.js';
import type { KappaEvent } from '../logic/kappa-logic.js';

// {"user_id":"<36>","page_id":"<36>","ad_id":"<36>","ad_type":"<t>","event_type":"<t>","event_time":"<digits>","ip_address":"<ip>"}
const K_USER = '{"user_id":"';
const K_PAGE = '","page_id":"';
const K_AD = '","ad_id":"';
const K_AD_TYPE = '","ad_type":"';
const K_EVENT_TYPE = '","event_type":"';
const K_EVENT_TIME = '","event_time":"';
const K_IP = '","ip_address":"';
const P_USER = K_USER.length;
const P_PAGE_KEY = P_USER + 36;
const P_PAGE = P_PAGE_KEY + K_PAGE.length;
const P_AD_KEY = P_PAGE + 36;
const P_AD = P_AD_KEY + K_AD.length;
const P_AD_TYPE_KEY = P_AD + 36;
const P_AD_TYPE = P_AD_TYPE_KEY + K_AD_TYPE.length;
const QUOTE = 34;
/** Shortest possible record in the canonical layout. */
const MIN_LENGTH = P_AD_TYPE + 4 + K_EVENT_TYPE.length + 4 + K_EVENT_TIME.length + 1 + K_IP.length + 2;
/** event_time: 1 to 16 digits (the decoder's rule). */
const MAX_TIME_DIGITS = 16;

export type ScanOutcome = 'fast' | 'decoded' | 'invalid';

/** Canonical strings, so that `event_type === 'view'` compares interned constants. */
const EVENT_TYPE_OF: Record<string, string> = Object.fromEntries(EVENT_TYPES.map((t) => [t, t]));
const AD_TYPE_SET: ReadonlySet<string> = new Set(AD_TYPES);

/**
 * Fills `out` from `raw`. Returns 'fast' when the canonical layout matched, 'decoded' when the
 * full decoder had to parse it, 'invalid' (with `out` untouched and the reason in `why.reason`)
 * when the record is not a YSB event.
 */
export function scanEvent(raw: string, out: KappaEvent, why: { reason: string }): ScanOutcome {
  if (scanCanonical(raw, out)) return 'fast';
  const reason = decodeKappaRecord(raw, out);
  if (reason === undefined) return 'decoded';
  why.reason = reason;
  return 'invalid';
}

/**
 * True when `raw` holds `key` from `at`. A native search that matches at once when the key is
 * there: measured cheaper than comparing char codes in JS or startsWith (bench notes in docs/kappa.md).
 */
function has(raw: string, at: number, key: string): boolean {
  return raw.indexOf(key, at) === at;
}

/** The fast path: true when `raw` has YSB's canonical layout (then `out` is filled). */
export function scanCanonical(raw: string, out: KappaEvent): boolean {
  const n = raw.length;
  if (n < MIN_LENGTH || raw.charCodeAt(n - 1) !== 125 /* } */ || raw.charCodeAt(n - 2) !== QUOTE)
    return false;
  if (
    !has(raw, 0, K_USER) ||
    !has(raw, P_PAGE_KEY, K_PAGE) ||
    !has(raw, P_AD_KEY, K_AD) ||
    !has(raw, P_AD_TYPE_KEY, K_AD_TYPE)
  )
    return false;
  // No backslash anywhere: no value holds an escape, so a value is the raw text between its quotes.
  if (raw.indexOf('\\') !== -1) return false;
  // The fixed-width values hold no quote (else the JSON would have other fields than it seems).
  if (
    raw.indexOf('"', P_USER) !== P_PAGE_KEY ||
    raw.indexOf('"', P_PAGE) !== P_AD_KEY ||
    raw.indexOf('"', P_AD) !== P_AD_TYPE_KEY
  )
    return false;
  const adTypeEnd = raw.indexOf('"', P_AD_TYPE);
  if (!isAdType(raw, P_AD_TYPE, adTypeEnd) || !has(raw, adTypeEnd, K_EVENT_TYPE)) return false;
  const typeStart = adTypeEnd + K_EVENT_TYPE.length;
  const type = eventType(raw, typeStart);
  if (type === undefined) return false;
  const typeEnd = typeStart + type.length;
  if (!has(raw, typeEnd, K_EVENT_TIME)) return false;
  const timeStart = typeEnd + K_EVENT_TIME.length;
  let time = 0;
  let i = timeStart;
  for (; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c === QUOTE) break;
    if (c < 48 || c > 57) return false;
    time = time * 10 + (c - 48);
  }
  const digits = i - timeStart;
  if (digits === 0 || digits > MAX_TIME_DIGITS || !has(raw, i, K_IP)) return false;
  // The ip_address value runs to the quote before "}" and holds none itself.
  if (raw.indexOf('"', i + K_IP.length) !== n - 2) return false;
  out.user_id = raw.slice(P_USER, P_PAGE_KEY);
  out.ad_id = raw.slice(P_AD, P_AD_TYPE_KEY);
  out.event_type = type;
  out.event_time = time;
  return true;
}

/** ad_type is one of YSB's five, compared in place. */
function isAdType(raw: string, start: number, end: number): boolean {
  switch (end - start) {
    case 6:
      return has(raw, start, 'banner') || has(raw, start, 'mobile');
    case 5:
      return has(raw, start, 'modal');
    case 4:
      return has(raw, start, 'mail');
    case 16:
      return has(raw, start, 'sponsored-search');
    default:
      return false;
  }
}

/** The event_type value starting at `at` (followed by its closing quote), or undefined. */
function eventType(raw: string, at: number): string | undefined {
  switch (raw.charCodeAt(at)) {
    case 118: // v
      return has(raw, at, 'view"') ? 'view' : undefined;
    case 99: // c
      return has(raw, at, 'click"') ? 'click' : undefined;
    case 112: // p
      return has(raw, at, 'purchase"') ? 'purchase' : undefined;
    default:
      return undefined;
  }
}

/**
 * The full decoder: JSON.parse and Kappa's rules (see the header). Fills `out` and returns
 * undefined, or returns why the record is not a YSB event (worded like the ingest decoder).
 */
export function decodeKappaRecord(raw: string, out: KappaEvent): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return `not valid JSON: ${(err as Error).message}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'not a JSON object: a YSB event is an object of 7 string fields';
  const obj = parsed as Record<string, unknown>;
  for (const field of YSB_FIELDS) {
    if (!(field in obj)) return `missing field "${field}"`;
    const v = obj[field];
    if (typeof v !== 'string')
      return `field "${field}" must be a string, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`;
  }
  const keys = Object.keys(obj);
  if (keys.length !== YSB_FIELDS.length) {
    const extra = keys.filter((k) => !(YSB_FIELDS as readonly string[]).includes(k));
    return `unexpected field(s) ${extra.map((k) => `"${k}"`).join(', ')}: a YSB event has exactly 7 fields`;
  }
  const e = obj as Record<(typeof YSB_FIELDS)[number], string>;
  const type = EVENT_TYPE_OF[e.event_type];
  if (type === undefined || !Object.hasOwn(EVENT_TYPE_OF, e.event_type))
    return `event_type "${e.event_type}" is not one of ${EVENT_TYPES.join(', ')}`;
  if (!AD_TYPE_SET.has(e.ad_type)) return `ad_type "${e.ad_type}" is not one of ${AD_TYPES.join(', ')}`;
  if (!/^\d{1,16}$/.test(e.event_time))
    return `event_time "${e.event_time}" must be non-negative epoch milliseconds as a string of digits`;
  out.user_id = e.user_id;
  out.ad_id = e.ad_id;
  out.event_type = type;
  out.event_time = Number(e.event_time);
  return undefined;
}

/** A fresh, reusable scan target. */
export function emptyKappaEvent(): KappaEvent {
  return { user_id: '', ad_id: '', event_type: '', event_time: 0 };
}

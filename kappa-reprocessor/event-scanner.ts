/**
 * Reads the four fields the Kappa job needs (user_id, ad_id, event_type, event_time) out of a
 * YSB record without JSON.parse. Records written by the lab's generator, ingest and import all
 * have YSB's exact layout (kernel/events/ysb-event.ts encodeEvent): fixed 36-character UUIDs and
 * fixed field names, so the scanner checks every delimiter where it must be and slices the
 * values. Anything else — another field order, whitespace, escapes, a missing field — goes to
 * the full decoder (JSON.parse + validation), which either yields the event or says why not.
 * Pure; no allocation beyond the value slices.
 */
import { decodeEvent } from '../kernel/events/event-decoder.js';
import type { KappaEvent } from './logic/kappa-logic.js';

// {"user_id":"<36>","page_id":"<36>","ad_id":"<36>","ad_type":"<t>","event_type":"<t>","event_time":"<digits>","ip_address":"<ip>"}
const P_USER = 12;
const P_PAGE_KEY = P_USER + 36; // ","page_id":"
const P_PAGE = P_PAGE_KEY + 13;
const P_AD_KEY = P_PAGE + 36; // ","ad_id":"
const P_AD = P_AD_KEY + 11;
const P_AD_TYPE_KEY = P_AD + 36; // ","ad_type":"
const P_AD_TYPE = P_AD_TYPE_KEY + 13;
const K_EVENT_TYPE = '","event_type":"';
const K_EVENT_TIME = '","event_time":"';
const K_IP = '","ip_address":"';
const QUOTE = 34;
const BACKSLASH = '\\';
/** Shortest possible YSB record in the canonical layout. */
const MIN_LENGTH = P_AD_TYPE + 4 + K_EVENT_TYPE.length + 4 + K_EVENT_TIME.length + 1 + K_IP.length + 2;
/** The largest event_time accepted: 16 digits, as the decoder's rule. */
const MAX_TIME_DIGITS = 16;

export type ScanOutcome = 'fast' | 'decoded' | 'invalid';

/** Canonical strings, so that `event_type === 'view'` compares interned constants. */
const EVENT_TYPES: Record<string, string> = { view: 'view', click: 'click', purchase: 'purchase' };

/**
 * Fills `out` from `raw`. Returns 'fast' when the canonical layout matched, 'decoded' when the
 * full decoder had to parse it, 'invalid' (with `out` untouched and the reason in `why.reason`)
 * when the record is not a valid YSB event.
 */
export function scanEvent(raw: string, out: KappaEvent, why: { reason: string }): ScanOutcome {
  if (scanCanonical(raw, out)) return 'fast';
  const d = decodeEvent(raw, { maxRecordBytes: Number.MAX_SAFE_INTEGER });
  if (!d.ok) {
    why.reason = d.reason;
    return 'invalid';
  }
  out.user_id = d.event.user_id;
  out.ad_id = d.event.ad_id;
  out.event_type = EVENT_TYPES[d.event.event_type] ?? d.event.event_type;
  out.event_time = Number(d.event.event_time);
  return 'decoded';
}

/** The fast path: true when `raw` has YSB's canonical layout (then `out` is filled). */
export function scanCanonical(raw: string, out: KappaEvent): boolean {
  const n = raw.length;
  if (n < MIN_LENGTH || raw.charCodeAt(n - 1) !== 125 /* } */ || raw.charCodeAt(n - 2) !== QUOTE) return false;
  if (!raw.startsWith('{"user_id":"', 0)) return false;
  if (!raw.startsWith('","page_id":"', P_PAGE_KEY)) return false;
  if (!raw.startsWith('","ad_id":"', P_AD_KEY)) return false;
  if (!raw.startsWith('","ad_type":"', P_AD_TYPE_KEY)) return false;
  // With no backslash anywhere, no value holds an escape, so every value is the raw text between quotes.
  if (raw.indexOf(BACKSLASH) !== -1) return false;
  const adTypeEnd = raw.indexOf('"', P_AD_TYPE);
  if (adTypeEnd < 0 || !raw.startsWith(K_EVENT_TYPE, adTypeEnd) || !isAdType(raw, P_AD_TYPE, adTypeEnd)) return false;
  if (!uuidShape(raw, P_USER) || !uuidShape(raw, P_PAGE) || !uuidShape(raw, P_AD)) return false;
  const typeStart = adTypeEnd + K_EVENT_TYPE.length;
  const typeEnd = raw.indexOf('"', typeStart);
  if (typeEnd < 0 || !raw.startsWith(K_EVENT_TIME, typeEnd)) return false;
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
  if (digits === 0 || digits > MAX_TIME_DIGITS || !raw.startsWith(K_IP, i)) return false;
  // The ip_address value runs to the closing quote before "}" and holds no quote itself.
  if (raw.indexOf('"', i + K_IP.length) !== n - 2) return false;
  const type = typeEnd - typeStart === 4 && raw.startsWith('view', typeStart) ? 'view' : EVENT_TYPES[raw.slice(typeStart, typeEnd)];
  if (type === undefined) return false; // let the decoder word the reason
  // UUID fields hold no quote (their closing delimiters sit at fixed positions and were checked).
  if (raw.indexOf('"', P_USER) !== P_PAGE_KEY || raw.indexOf('"', P_AD) !== P_AD_TYPE_KEY) return false;
  out.user_id = raw.slice(P_USER, P_PAGE_KEY);
  out.ad_id = raw.slice(P_AD, P_AD_TYPE_KEY);
  out.event_type = type;
  out.event_time = time;
  return true;
}

/** ad_type is one of YSB's five (the decoder's rule), compared in place. */
function isAdType(raw: string, start: number, end: number): boolean {
  switch (end - start) {
    case 6:
      return raw.startsWith('banner', start) || raw.startsWith('mobile', start);
    case 5:
      return raw.startsWith('modal', start);
    case 4:
      return raw.startsWith('mail', start);
    case 16:
      return raw.startsWith('sponsored-search', start);
    default:
      return false;
  }
}

/** 8-4-4-4-12 hex digits (the decoder's UUID rule), checked in place. */
function uuidShape(raw: string, at: number): boolean {
  for (let i = 0; i < 36; i++) {
    const c = raw.charCodeAt(at + i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}

/** A fresh, reusable scan target. */
export function emptyKappaEvent(): KappaEvent {
  return { user_id: '', ad_id: '', event_type: '', event_time: 0 };
}

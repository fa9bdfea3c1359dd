/**
 * The canonical YSB event (../shared/WORKLOAD.md): a JSON object of 7 string fields.
 */
export const AD_TYPES = ['banner', 'modal', 'sponsored-search', 'mail', 'mobile'] as const;
export const EVENT_TYPES = ['view', 'click', 'purchase'] as const;
export const YSB_FIELDS = [
  'user_id',
  'page_id',
  'ad_id',
  'ad_type',
  'event_type',
  'event_time',
  'ip_address',
] as const;

export type AdType = (typeof AD_TYPES)[number];
export type EventType = (typeof EVENT_TYPES)[number];

export interface YsbEvent {
  user_id: string;
  page_id: string;
  ad_id: string;
  ad_type: AdType;
  event_type: EventType;
  /** Epoch milliseconds, as a string (as YSB publishes it). */
  event_time: string;
  ip_address: string;
}

/** The topic every architecture reads. */
export const AD_EVENTS_TOPIC = 'ad-events';
/** Where rejected records go, with the reason. */
export const DEAD_LETTER_TOPIC = 'ad-events-dead-letter';

/** YSB's window: floor(event_time / 10 000) × 10 000. */
export const WINDOW_MS = 10_000;
export function windowStart(eventTimeMs: number): number {
  return Math.floor(eventTimeMs / WINDOW_MS) * WINDOW_MS;
}

/** Serialises with YSB's field order, so files and log values look exactly like YSB's. */
export function encodeEvent(e: YsbEvent): string {
  return (
    `{"user_id":"${e.user_id}","page_id":"${e.page_id}","ad_id":"${e.ad_id}","ad_type":"${e.ad_type}",` +
    `"event_type":"${e.event_type}","event_time":"${e.event_time}","ip_address":"${e.ip_address}"}`
  );
}

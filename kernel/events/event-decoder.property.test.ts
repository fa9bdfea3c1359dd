/**
 * Property-based tests of the event decoder (fast-check): whatever bytes arrive, the decoder answers
 * with a verdict and a reason instead of throwing, accepts exactly the valid YSB events, and names
 * the field that is wrong.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEvent, validateEvent, type DecodeLimits } from './event-decoder.js';
import { AD_TYPES, EVENT_TYPES, YSB_FIELDS, encodeEvent, type YsbEvent } from './ysb-event.js';

const RUNS = { numRuns: 2000 };
const NOW = 1_800_000_000_000;
const LIMITS: DecodeLimits = { maxRecordBytes: 4096, maxEventTimeMs: NOW + 7 * 24 * 3600 * 1000 };

const validEvent: fc.Arbitrary<YsbEvent> = fc.record({
  user_id: fc.uuid(),
  page_id: fc.uuid(),
  ad_id: fc.uuid(),
  ad_type: fc.constantFrom(...AD_TYPES),
  event_type: fc.constantFrom(...EVENT_TYPES),
  event_time: fc.integer({ min: 0, max: NOW }).map(String),
  ip_address: fc.ipV4(),
});

/** Any JSON value that is not a string. */
const nonString = fc.jsonValue().filter((v) => typeof v !== 'string');

function expectRejected(result: ReturnType<typeof decodeEvent>): string {
  expect(result.ok).toBe(false);
  const reason = (result as { reason: string }).reason;
  expect(typeof reason).toBe('string');
  expect(reason.length).toBeGreaterThan(0);
  return reason;
}

describe('event decoder (properties)', () => {
  it('never throws, whatever the input: a verdict, and a reason for every rejection', () => {
    const inputs = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      fc.json({ maxDepth: 4 }),
      fc.anything({ maxDepth: 3 }).map((v) => {
        try {
          return JSON.stringify(v) ?? 'undefined';
        } catch {
          return String(v);
        }
      }),
      validEvent.map(encodeEvent).chain((s) =>
        // Valid records cut, spliced or with characters replaced.
        fc
          .tuple(fc.nat({ max: s.length }), fc.nat({ max: s.length }), fc.string({ maxLength: 5 }))
          .map(([a, b, ins]) => s.slice(0, Math.min(a, b)) + ins + s.slice(Math.max(a, b))),
      ),
    );
    fc.assert(
      fc.property(inputs, (raw) => {
        const r = decodeEvent(raw, LIMITS);
        if (!r.ok) expectRejected(r);
        else expect(YSB_FIELDS.every((f) => typeof r.event[f] === 'string')).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts every valid event and returns it unchanged, in either field order', () => {
    fc.assert(
      fc.property(validEvent, (e) => {
        expect(decodeEvent(encodeEvent(e), LIMITS)).toEqual({ ok: true, event: e });
        const reversed = Object.fromEntries(Object.entries(e).reverse());
        expect(decodeEvent(JSON.stringify(reversed), LIMITS)).toEqual({ ok: true, event: e });
      }),
      RUNS,
    );
  });

  it('names the missing field', () => {
    fc.assert(
      fc.property(validEvent, fc.constantFrom(...YSB_FIELDS), (e, field) => {
        const copy: Record<string, unknown> = { ...e };
        delete copy[field];
        expect(expectRejected(decodeEvent(JSON.stringify(copy), LIMITS))).toBe(`missing field "${field}"`);
      }),
      RUNS,
    );
  });

  it('names the extra field', () => {
    const extraKey = fc
      .string({ minLength: 1, maxLength: 20 })
      .filter((k) => !(YSB_FIELDS as readonly string[]).includes(k))
      .map((k) => (k.length === 1 ? '__proto__' : k)); // the classic prototype-pollution key, often
    fc.assert(
      fc.property(validEvent, extraKey, fc.jsonValue(), (e, key, value) => {
        const reason = expectRejected(decodeEvent(JSON.stringify({ ...e, [key]: value }), LIMITS));
        expect(reason).toMatch(/^unexpected field\(s\) /);
        expect(reason).toContain(`"${key}"`);
      }),
      RUNS,
    );
  });

  it('names the field of the wrong type', () => {
    fc.assert(
      fc.property(validEvent, fc.constantFrom(...YSB_FIELDS), nonString, (e, field, value) => {
        const reason = expectRejected(decodeEvent(JSON.stringify({ ...e, [field]: value }), LIMITS));
        expect(reason).toMatch(new RegExp(`^field "${field}" must be a string, got `));
      }),
      RUNS,
    );
  });

  it('takes event_time only as non-negative epoch ms no later than the limit', () => {
    fc.assert(
      fc.property(validEvent, fc.bigInt({ min: -(2n ** 60n), max: 2n ** 60n }), (e, t) => {
        const r = decodeEvent(encodeEvent({ ...e, event_time: String(t) }), LIMITS);
        if (t >= 0n && t <= BigInt(LIMITS.maxEventTimeMs!)) expect(r.ok).toBe(true);
        // More than 16 digits is not a plausible epoch-ms value: rejected by form, like a negative one.
        else if (t < 0n || String(t).length > 16)
          expect(expectRejected(r)).toMatch(/must be non-negative epoch milliseconds/);
        else expect(expectRejected(r)).toMatch(/further in the future than allowed/);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(
        validEvent,
        fc.oneof(
          fc.double().map(String),
          fc.constantFrom('', ' 1', '1 ', '0x10', '1e3', 'NaN', 'Infinity', '١٢٣', '+5', '12345678901234567'),
        ),
        (e, t) => {
          fc.pre(!/^\d{1,16}$/.test(t));
          expect(expectRejected(decodeEvent(encodeEvent({ ...e, event_time: t }), LIMITS))).toMatch(
            /must be non-negative epoch milliseconds/,
          );
        },
      ),
      RUNS,
    );
  });

  it('rejects records over the size limit before parsing them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 64, max: 2048 }),
        fc.string({ minLength: 1, maxLength: 4000 }),
        (limit, pad) => {
          const raw = `${'x'.repeat(limit)}${pad}`;
          expect(expectRejected(decodeEvent(raw, { maxRecordBytes: limit }))).toBe(
            `record is ${raw.length} bytes, above the ${limit}-byte limit`,
          );
        },
      ),
      RUNS,
    );
  });

  it('rejects enum values outside YSB and ids that are not UUIDs, naming the value', () => {
    fc.assert(
      fc.property(
        validEvent,
        fc.constantFrom('ad_type', 'event_type', 'user_id', 'page_id', 'ad_id'),
        fc.string({ maxLength: 40 }),
        (e, field, value) => {
          const valid =
            field === 'ad_type'
              ? (AD_TYPES as readonly string[]).includes(value)
              : field === 'event_type'
                ? (EVENT_TYPES as readonly string[]).includes(value)
                : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
          fc.pre(!valid);
          expect(expectRejected(validateEvent({ ...e, [field]: value }, LIMITS))).toContain(field);
        },
      ),
      RUNS,
    );
  });

  it('with reference data, accepts exactly the known ads', () => {
    fc.assert(
      fc.property(validEvent, fc.uniqueArray(fc.uuid(), { maxLength: 5 }), fc.boolean(), (e, ads, known) => {
        const knownAds = new Set(known ? [...ads, e.ad_id] : ads.filter((a) => a !== e.ad_id));
        const r = decodeEvent(encodeEvent(e), { ...LIMITS, knownAds });
        if (known) expect(r.ok).toBe(true);
        else expect(expectRejected(r)).toMatch(/is not in the reference data/);
      }),
      RUNS,
    );
  });

  it('rejects every non-object JSON value', () => {
    fc.assert(
      fc.property(
        fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
        (v) => {
          expect(expectRejected(decodeEvent(JSON.stringify(v), LIMITS))).toMatch(/^not a JSON object/);
        },
      ),
      RUNS,
    );
  });
});

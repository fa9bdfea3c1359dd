import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../kernel/events/event-decoder.js';
import { encodeEvent } from '../../kernel/events/ysb-event.js';
import { buildReferenceData } from '../../kernel/workload/reference-data.js';
import { YsbGenerator } from '../../kernel/workload/ysb-generator.js';
import { emptyKappaEvent, scanCanonical, scanEvent } from './event-scanner.js';

const ref = buildReferenceData();
const gen = new YsbGenerator(ref, { seed: 3, mode: 'catch-up', rate: 0, startTime: 1_700_000_000_000 });
const sample = gen.take(1)[0]!.event!;

describe('event scanner', () => {
  it('reads a canonical YSB record without JSON.parse', () => {
    const out = emptyKappaEvent();
    expect(scanEvent(encodeEvent(sample), out, { reason: '' })).toBe('fast');
    expect(out).toEqual({
      user_id: sample.user_id,
      ad_id: sample.ad_id,
      event_type: sample.event_type,
      event_time: Number(sample.event_time),
    });
  });

  it('falls back to the full decoder when a field is not where expected, with the same result', () => {
    const reordered = JSON.stringify({
      event_time: sample.event_time,
      ad_id: sample.ad_id,
      user_id: sample.user_id,
      page_id: sample.page_id,
      ad_type: sample.ad_type,
      event_type: sample.event_type,
      ip_address: sample.ip_address,
    });
    const spaced = encodeEvent(sample).replace(/,/g, ', ');
    const escaped = encodeEvent(sample).replace('"ip_address":"1.2.3.4"', '"ip_address":"\\u0031.2.3.4"');
    for (const raw of [reordered, spaced, escaped]) {
      const out = emptyKappaEvent();
      expect(scanCanonical(raw, emptyKappaEvent())).toBe(false);
      expect(scanEvent(raw, out, { reason: '' })).toBe('decoded');
      expect(out).toEqual({
        user_id: sample.user_id,
        ad_id: sample.ad_id,
        event_type: sample.event_type,
        event_time: Number(sample.event_time),
      });
    }
  });

  it('says why a record is not a YSB event', () => {
    const why = { reason: '' };
    const cases: Array<[string, RegExp]> = [
      ['{"user_id":"x"', /not valid JSON/],
      [
        encodeEvent(sample).replace(
          `"event_time":"${sample.event_time}"`,
          `"event_time":${sample.event_time}`,
        ),
        /event_time.*must be a string/,
      ],
      [encodeEvent({ ...sample, ad_type: 'billboard' as never }), /ad_type "billboard"/],
      [encodeEvent({ ...sample, event_type: 'hover' as never }), /event_type "hover"/],
      [encodeEvent({ ...sample, event_time: '12a4' }), /event_time/],
    ];
    for (const [raw, reason] of cases) {
      expect(scanEvent(raw, emptyKappaEvent(), why), raw).toBe('invalid');
      expect(why.reason).toMatch(reason);
    }
  });

  it('treats ids as opaque, like YSB (the join drops unknown ads; ingest validates UUIDs)', () => {
    const odd = encodeEvent({ ...sample, user_id: 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz' });
    const out = emptyKappaEvent();
    expect(scanEvent(odd, out, { reason: '' })).toBe('fast');
    expect(out.user_id).toBe('zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz');
    const short = encodeEvent({ ...sample, user_id: 'u1' });
    expect(scanEvent(short, out, { reason: '' })).toBe('decoded');
    expect(out.user_id).toBe('u1');
    // A quote hidden in a fixed-width value changes the JSON: never taken by the fast path.
    const sneaky = `{"user_id":"${'a'.repeat(10)}","x":"${'b'.repeat(17)}","page_id":"${sample.page_id}","ad_id":"${sample.ad_id}","ad_type":"banner","event_type":"view","event_time":"1","ip_address":"1.2.3.4"}`;
    expect(scanCanonical(sneaky, emptyKappaEvent())).toBe(false);
    expect(scanEvent(sneaky, emptyKappaEvent(), { reason: '' })).toBe('invalid');
  });

  it('agrees with the decoder on 20,000 generated records, malformed ones included', () => {
    const g = new YsbGenerator(ref, {
      seed: 9,
      mode: 'catch-up',
      rate: 0,
      startTime: 1_700_000_000_000,
      knobs: { malformedFraction: 0.05 },
    });
    let fast = 0;
    for (const r of g.take(20_000)) {
      const out = emptyKappaEvent();
      const outcome = scanEvent(r.value, out, { reason: '' });
      const d = decodeEvent(r.value);
      expect(outcome === 'invalid', r.value).toBe(!d.ok);
      if (d.ok) {
        expect(out).toEqual({
          user_id: d.event.user_id,
          ad_id: d.event.ad_id,
          event_type: d.event.event_type,
          event_time: Number(d.event.event_time),
        });
        if (outcome === 'fast') fast++;
      }
    }
    expect(fast).toBeGreaterThan(18_000);
  });
});

/**
 * The `from`/`to` event-time range the query routes take (views, divergence), with the rule the
 * handlers check (`to > from`, at most `maxWindows` windows of 10 s) stated for the document.
 */
export function eventTimeRange(maxWindows: number): Record<'from' | 'to', Record<string, unknown>> {
  return {
    from: {
      type: 'integer',
      minimum: 0,
      example: 1_700_000_000_000,
      description: 'event time, epoch ms (inclusive); less than `to` (else 400)',
    },
    to: {
      type: 'integer',
      minimum: 1,
      example: 1_700_000_060_000,
      description: `event time, epoch ms (exclusive); must be greater than \`from\` (to = from is 400), and the range at most ${maxWindows.toLocaleString('en-US')} windows of 10 s, i.e. to − from ≤ ${(maxWindows * 10_000).toLocaleString('en-US')} ms (else 400)`,
    },
  };
}

/**
 * Conformance suite of the event-log port. It uses only the EventLog interface, so every adapter
 * (the embedded log, Kafka) runs it unchanged:
 *
 *   eventLogContract('embedded', async () => ({ log, reopen, cleanup, historySource: true }));
 *
 * Each test gets a fresh subject from the factory, uses random topic and group names, creates
 * its topics with ensureTopic and deletes them (and its groups) through the port at the end.
 * `reopen` closes the current log and returns a new instance over the same storage; `cleanup`
 * closes whichever instance is current and releases the storage; `historySource` declares whether
 * the adapter offers direct history reads (checked, never skipped). Timeouts are generous because a real broker is slower.
 *
 * The tests live in one file per topic (event-log-topics/-consumers/-groups/-storage.contract.ts)
 * over one harness (event-log-contract-support.ts); this entry registers them all.
 */
import { describe } from 'vitest';
import {
  useEventLogHarness,
  type EventLogContractOptions,
  type EventLogContractSubject,
} from './event-log-contract-support.js';
import { eventLogConsumerTests } from './event-log-consumers.contract.js';
import { eventLogGroupTests } from './event-log-groups.contract.js';
import { eventLogStorageTests } from './event-log-storage.contract.js';
import { eventLogTopicTests } from './event-log-topics.contract.js';

export type { EventLogContractOptions, EventLogContractSubject };

export function eventLogContract(
  name: string,
  factory: () => Promise<EventLogContractSubject>,
  options: EventLogContractOptions = {},
): void {
  describe(`event-log contract: ${name}`, () => {
    const h = useEventLogHarness(factory, options);
    eventLogTopicTests(h);
    eventLogConsumerTests(h);
    eventLogGroupTests(h);
    eventLogStorageTests(h);
  });
}

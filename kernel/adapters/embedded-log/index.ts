export { openEmbeddedEventLog, EmbeddedEventLog } from './embedded-event-log.js';
export type { EmbeddedEventLogOptions, RecoveryReport, PartitionStorage } from './embedded-event-log.js';
export { EmbeddedLogConsumer } from './embedded-consumer.js';
export type { EmbeddedConsumerOptions } from './embedded-consumer.js';
export { EMBEDDED_LOG_EVENTS } from './instrumentation.js';
export type { EmbeddedLogEventPayloads, TailTruncation } from './instrumentation.js';
export { EMBEDDED_LOG_DEFAULTS } from './defaults.js';
export { scanSegments } from './segment-scan.js';
export type { SegmentScanOptions } from './segment-scan.js';

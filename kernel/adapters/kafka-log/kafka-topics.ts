/**
 * Topic administration of the Kafka adapter: create a topic with its retention configs and wait
 * until every partition has a leader, delete one and wait until the broker's metadata agrees,
 * and describe the visible topics with their retention limits.
 */
import kafkajs from 'kafkajs';
import { isLabError } from '../../errors/lab-error.js';
import type { TopicDescription, TopicSpec } from '../../ports/event-log.js';
import type { KafkaAdmin } from './kafka-admin.js';
import { KAFKA_LOG_DEFAULTS } from './kafka-defaults.js';
import { kafkaErrorType } from './kafka-errors.js';

// kafkajs is CommonJS; Node's ESM loader does not see all of its named exports.
const { ConfigResourceTypes } = kafkajs;

/** Creates the topic (already validated) unless it exists; an existing topic keeps its partitions and configs. */
export async function createTopic(admin: KafkaAdmin, topic: string, spec: TopicSpec): Promise<void> {
  const configEntries = [
    { name: 'retention.ms', value: String(spec.retentionMs ?? -1) },
    { name: 'retention.bytes', value: String(spec.retentionBytes ?? -1) },
  ];
  // segment.bytes has no "unlimited" value (-1 is invalid); without it the broker default applies.
  if (spec.segmentBytes !== undefined)
    configEntries.push({ name: 'segment.bytes', value: String(spec.segmentBytes) });
  if (await admin.topicExists(topic)) return;
  try {
    // false = another client created it meanwhile.
    await admin.withAdmin((a) =>
      a.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: spec.partitions, configEntries }],
      }),
    );
  } catch (err) {
    if (kafkaErrorType(err) !== 'TOPIC_ALREADY_EXISTS')
      throw admin.error(err, `Creating topic ${topic}`, { topic });
  }
  admin.forget(topic);
  await waitForTopic(admin, topic);
}

/**
 * The controller has created the topic, but a broker may answer "unknown topic" for a moment
 * longer (its metadata catches up asynchronously): wait until the topic and a leader for every
 * partition are visible, so the topic is usable as soon as ensureTopic() resolves.
 */
async function waitForTopic(admin: KafkaAdmin, topic: string): Promise<void> {
  const deadline = performance.now() + KAFKA_LOG_DEFAULTS.topicVisibleWaitMs;
  for (;;) {
    try {
      const partitions = await admin.partitionMetadata(topic, true);
      if (partitions.every((p) => p.leader >= 0)) return;
    } catch (err) {
      if (!isLabError(err) || err.code !== 'LKL_ERR_LOG_TOPIC_UNKNOWN') throw err;
      if (performance.now() > deadline) throw err;
    }
    if (performance.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Deletes the topic (already validated); `forget` drops what the log caches about it, whatever the outcome. */
export async function deleteTopic(admin: KafkaAdmin, topic: string, forget: () => void): Promise<void> {
  await admin.partitionMetadata(topic, true); // LKL_ERR_LOG_TOPIC_UNKNOWN at once for an unknown topic
  try {
    await admin.withAdmin((a) => a.deleteTopics({ topics: [topic] }));
  } catch (err) {
    throw admin.error(err, `Deleting topic ${topic}`, { topic });
  } finally {
    admin.forget(topic);
    forget();
  }
  // The controller has deleted it; wait until the broker's metadata agrees, so listTopics() does too.
  const deadline = performance.now() + KAFKA_LOG_DEFAULTS.deleteTopicWaitMs;
  while (performance.now() < deadline) {
    const names = await admin.withAdmin((a) => a.listTopics()).catch(() => [] as string[]);
    if (!names.includes(topic)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Topics other than Kafka's internal ones (`__consumer_offsets`, …), sorted by name. */
export async function listTopics(admin: KafkaAdmin): Promise<TopicDescription[]> {
  try {
    const { topics } = await admin.withAdmin((a) => a.fetchTopicMetadata());
    const visible = topics
      .filter((t) => !t.name.startsWith('__'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (visible.length === 0) return [];
    const { resources } = await admin.withAdmin((a) =>
      a.describeConfigs({
        includeSynonyms: false,
        resources: visible.map((t) => ({
          type: ConfigResourceTypes.TOPIC,
          name: t.name,
          configNames: ['retention.ms', 'retention.bytes'],
        })),
      }),
    );
    const configs = new Map(
      resources.map((r) => [
        r.resourceName,
        new Map(r.configEntries.map((e) => [e.configName, e.configValue])),
      ]),
    );
    return visible.map((t) => {
      const c = configs.get(t.name);
      return {
        name: t.name,
        partitions: t.partitions.length,
        retentionMs: limit(c?.get('retention.ms')),
        retentionBytes: limit(c?.get('retention.bytes')),
      };
    });
  } catch (err) {
    throw admin.error(err, 'Listing topics');
  }
}

/** A topic config value where -1 (or nothing) means "no limit". */
function limit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

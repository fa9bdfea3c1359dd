/**
 * Consumer-group administration of the Kafka adapter on the broker: committed offsets of a
 * group, the check that a group has no members elsewhere, deleting a group, and committing for
 * a group without members through a short-lived member.
 */
import type { Kafka, PartitionMetadata } from 'kafkajs';
import { LabError } from '../../errors/lab-error.js';
import type { PartitionOffset } from '../../ports/event-log.js';
import type { KafkaAdmin } from './kafka-admin.js';
import { kafkaErrorType } from './kafka-errors.js';

/** The group's committed offset of every partition in `meta` (null where it committed nothing). */
export async function fetchCommittedOffsets(
  admin: KafkaAdmin,
  group: string,
  topic: string,
  meta: PartitionMetadata[],
): Promise<Array<{ partition: number; offset: number | null }>> {
  let rows: Array<{ partition: number; offset: string }> = [];
  try {
    const res = await admin.withAdmin((a) => a.fetchOffsets({ groupId: group, topics: [topic] }), topic);
    rows = res.find((r) => r.topic === topic)?.partitions ?? [];
  } catch (err) {
    throw admin.error(err, `Reading the committed offsets of group ${group} on ${topic}`, { topic, group });
  }
  const byPartition = new Map(rows.map((r) => [r.partition, Number(r.offset)]));
  return meta
    .map((m) => m.partitionId)
    .sort((a, b) => a - b)
    .map((partition) => {
      const o = byPartition.get(partition);
      return { partition, offset: o === undefined || o < 0 ? null : o };
    });
}

/** Refuses with LKL_ERR_LOG_GROUP_ACTIVE when the group has members (of other clients). */
export async function assertGroupEmpty(admin: KafkaAdmin, group: string, what: string): Promise<void> {
  let state: string | undefined;
  try {
    const { groups } = await admin.withAdmin((a) => a.describeGroups([group]));
    state = groups.find((g) => g.groupId === group)?.state;
  } catch (err) {
    throw admin.error(err, what, { group });
  }
  if (state !== undefined && state !== 'Empty' && state !== 'Dead') {
    throw new LabError(
      'LKL_ERR_LOG_GROUP_ACTIVE',
      `${what}: the group has members (state ${state}) that are not consumers of this log; commit through those consumers, or stop them first.`,
      { details: { group, state } },
    );
  }
}

/** Deletes a group and its committed offsets on the broker; unknown groups are a no-op, a group with members is refused. */
export async function deleteGroupOnBroker(admin: KafkaAdmin, group: string): Promise<void> {
  try {
    await admin.withAdmin((a) => a.deleteGroups([group]));
  } catch (err) {
    const results = (err as { groups?: Array<{ groupId: string; error?: { type?: string } }> }).groups ?? [];
    const type = results.find((g) => g.groupId === group)?.error?.type ?? kafkaErrorType(err);
    if (type === 'GROUP_ID_NOT_FOUND') return;
    if (type === 'NON_EMPTY_GROUP') {
      throw new LabError(
        'LKL_ERR_LOG_GROUP_ACTIVE',
        `Group ${group} still has members (consumers in another process?); stop them before deleting the group.`,
        {
          cause: err,
          details: { group },
        },
      );
    }
    throw admin.error(err, `Deleting group ${group}`, { group });
  }
}

/**
 * Commits offsets for a group that has no members: a kafkajs consumer joins it (fetching
 * nothing: its partitions are paused), commits with the generation it got, and leaves.
 */
export async function commitAsShortLivedMember(
  kafka: Kafka,
  group: string,
  topic: string,
  offsets: PartitionOffset[],
): Promise<void> {
  const consumer = kafka.consumer({
    groupId: group,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 20,
    retry: { retries: 3 },
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => consumer.pause([{ topic }]));
      // The runner accepts commits once it is fetching (it drops them before).
      consumer.on(consumer.events.FETCH_START, () => resolve());
      consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
    });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    await joined;
    await consumer.commitOffsets(
      offsets.map((o) => ({ topic, partition: o.partition, offset: String(o.offset) })),
    );
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

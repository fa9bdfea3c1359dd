/**
 * The running consumers of the embedded log and the partitions each owns: within a group and a
 * topic no two running consumers may own the same partition.
 */
import { LabError } from '../../errors/lab-error.js';
import type { EmbeddedLogConsumer } from './embedded-consumer.js';

export class ConsumerRegistry {
  private readonly consumers = new Set<EmbeddedLogConsumer>();
  private readonly consumerPartitions = new Map<EmbeddedLogConsumer, readonly number[]>();

  /** Throws LKL_ERR_LOG_GROUP_ACTIVE when a running consumer of the group owns one of the partitions. */
  add(consumer: EmbeddedLogConsumer, partitions: readonly number[]): void {
    for (const [other, owned] of this.consumerPartitions) {
      if (other.group !== consumer.group || other.topic !== consumer.topic) continue;
      const overlap = partitions.filter((p) => owned.includes(p));
      if (overlap.length > 0) {
        throw new LabError(
          'LKL_ERR_LOG_GROUP_ACTIVE',
          `Partitions ${overlap.join(', ')} of ${consumer.topic} are already consumed by a running consumer of group ${consumer.group}; stop it first or give each consumer disjoint \`partitions\`.`,
          { details: { group: consumer.group, topic: consumer.topic, partitions: overlap } },
        );
      }
    }
    this.consumers.add(consumer);
    this.consumerPartitions.set(consumer, partitions);
  }

  delete(consumer: EmbeddedLogConsumer): void {
    this.consumers.delete(consumer);
    this.consumerPartitions.delete(consumer);
  }

  /** The running consumers, in registration order. */
  all(): EmbeddedLogConsumer[] {
    return [...this.consumers];
  }
}

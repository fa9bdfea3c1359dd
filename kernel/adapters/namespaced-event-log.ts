import type {
  AppendAck,
  AppendRecord,
  ConsumerOptions,
  EventLog,
  GroupLag,
  LogConsumer,
  PartitionOffset,
  PartitionOffsets,
  RecordBatch,
  TopicDescription,
  TopicSpec,
} from '../ports/event-log.js';

/**
 * Isolates one lab on a shared log (several labs, or parallel test suites, on one Kafka cluster):
 * every topic and group name is prefixed with `<namespace>.` on the way in and stripped on the
 * way out. Layers keep using plain names such as `ad-events`.
 */
export class NamespacedEventLog implements EventLog {
  private readonly p: string;

  constructor(
    private readonly inner: EventLog,
    namespace: string,
  ) {
    this.p = `${namespace}.`;
  }

  get kind(): EventLog['kind'] {
    return this.inner.kind;
  }

  get capabilities(): EventLog['capabilities'] {
    return this.inner.capabilities;
  }
  // No historySource: a namespaced log's history is read through its consumers.

  private n = (name: string): string => this.p + name;
  private strip = (name: string): string => name.slice(this.p.length);

  ensureTopic(topic: string, spec: TopicSpec): Promise<void> {
    return this.inner.ensureTopic(this.n(topic), spec);
  }
  deleteTopic(topic: string): Promise<void> {
    return this.inner.deleteTopic(this.n(topic));
  }
  async listTopics(): Promise<TopicDescription[]> {
    return (await this.inner.listTopics())
      .filter((t) => t.name.startsWith(this.p))
      .map((t) => ({ ...t, name: this.strip(t.name) }));
  }
  append(topic: string, records: AppendRecord[]): Promise<AppendAck[]> {
    return this.inner.append(this.n(topic), records);
  }
  offsets(topic: string): Promise<PartitionOffsets[]> {
    return this.inner.offsets(this.n(topic));
  }
  commitOffsets(group: string, topic: string, offsets: PartitionOffset[]): Promise<void> {
    return this.inner.commitOffsets(this.n(group), this.n(topic), offsets);
  }
  committedOffsets(
    group: string,
    topic: string,
  ): Promise<Array<{ partition: number; offset: number | null }>> {
    return this.inner.committedOffsets(this.n(group), this.n(topic));
  }
  async listGroups(): Promise<string[]> {
    return (await this.inner.listGroups()).filter((g) => g.startsWith(this.p)).map(this.strip);
  }
  deleteGroup(group: string): Promise<void> {
    return this.inner.deleteGroup(this.n(group));
  }
  async lag(group: string, topic: string): Promise<GroupLag> {
    const lag = await this.inner.lag(this.n(group), this.n(topic));
    return { ...lag, group, topic };
  }
  consumer(options: ConsumerOptions): LogConsumer {
    const c = this.inner.consumer({ ...options, group: this.n(options.group), topic: this.n(options.topic) });
    const topic = options.topic;
    return {
      run: (handler: (batch: RecordBatch) => Promise<void>) => c.run((batch) => handler({ ...batch, topic })),
      seek: (partition, offset) => c.seek(partition, offset),
      commit: (offsets) => c.commit(offsets),
      assignment: () => c.assignment(),
      stop: () => c.stop(),
    };
  }
  async enforceRetention(): Promise<void> {
    await this.inner.enforceRetention?.();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

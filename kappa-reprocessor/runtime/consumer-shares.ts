/**
 * How a runner's consumers split the partitions. On the embedded log the runner assigns them
 * itself: with n consumers, consumer i takes the partitions p with p mod n = i (n capped at the
 * partition count). Elsewhere (Kafka) the group protocol assigns them: every share is undefined.
 */
export function consumerShares(
  consumers: number,
  partitions: readonly number[],
  selfAssigned: boolean,
): Array<number[] | undefined> {
  const n = Math.max(1, consumers);
  if (!selfAssigned || n === 1) return Array.from({ length: n }, () => undefined);
  const m = Math.min(n, partitions.length);
  return Array.from({ length: m }, (_, i) => partitions.filter((p) => p % m === i));
}

/** Commits each partition's offset through the consumer that owns it (best effort: for lag display). */
export async function commitByOwner<
  C extends { commit(o: Array<{ partition: number; offset: number }>): Promise<void> },
>(
  owners: ReadonlyMap<number, C>,
  offsets: ReadonlyArray<{ partition: number; offset: number }>,
): Promise<void> {
  const byConsumer = new Map<C, Array<{ partition: number; offset: number }>>();
  for (const o of offsets) {
    const c = owners.get(o.partition);
    if (!c) continue;
    const list = byConsumer.get(c) ?? [];
    list.push(o);
    byConsumer.set(c, list);
  }
  await Promise.all([...byConsumer].map(([c, list]) => c.commit(list).catch(() => undefined)));
}

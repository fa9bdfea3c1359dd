/**
 * Key layout of the Redis realtime store under its prefix (default `lklab:rt:`): `<prefix>d:<key>`
 * for data keys, `<prefix>o:<namespace>` for offsets, so offsets never appear in keys() nor fall
 * to deleteByPrefix(). Plus the glob escaping that makes a SCAN pattern match a prefix literally.
 */

export class RedisKeyLayout {
  readonly dataPrefix: string;

  constructor(readonly prefix: string) {
    this.dataPrefix = `${prefix}d:`;
  }

  dataKey(key: string): string {
    return this.dataPrefix + key;
  }

  offsetsKey(namespace: string): string {
    return `${this.prefix}o:${namespace}`;
  }

  /** The SCAN MATCH pattern of the data keys starting with `prefix`. */
  dataMatch(prefix: string): string {
    return `${escapeGlob(this.dataPrefix + prefix)}*`;
  }

  /** The store's key of a data key Redis returned. */
  fromDataKey(redisKey: string): string {
    return redisKey.slice(this.dataPrefix.length);
  }
}

/** Escapes Redis glob metacharacters so a prefix matches literally. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

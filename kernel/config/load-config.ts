import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { LabError } from '../errors/lab-error.js';
import { redactSetting } from '../util/redact.js';
import { ConfigSchema } from './config-schema.js';
import { DEFAULTS, type LabConfig } from './defaults.js';

/** Environment variables and the setting each one sets. */
export const ENV_SETTINGS: Record<string, { path: string; type: 'string' | 'number' | 'list' | 'boolean' }> =
  {
    LKLAB_HOST: { path: 'server.host', type: 'string' },
    LKLAB_PORT: { path: 'server.port', type: 'number' },
    LKLAB_TOKEN: { path: 'server.token', type: 'string' },
    LKLAB_RATE_LIMIT: { path: 'server.rateLimit', type: 'number' },
    LKLAB_DATA_DIR: { path: 'dataDir', type: 'string' },
    LKLAB_NAMESPACE: { path: 'namespace', type: 'string' },
    LKLAB_RATE: { path: 'generator.rate', type: 'number' },
    LKLAB_GENERATOR_MODE: { path: 'generator.mode', type: 'string' },
    LKLAB_SEED: { path: 'generator.seed', type: 'number' },
    LKLAB_PARTITIONS: { path: 'log.partitions', type: 'number' },
    LKLAB_RETENTION_MS: { path: 'log.retentionMs', type: 'number' },
    LKLAB_RETENTION_BYTES: { path: 'log.retentionBytes', type: 'number' },
    LKLAB_FSYNC_INTERVAL_MS: { path: 'log.fsyncIntervalMs', type: 'number' },
    KAFKA_BROKERS: { path: 'kafka.brokers', type: 'list' },
    REDIS_URL: { path: 'redis.url', type: 'string' },
  };

export interface ConfigSources {
  /** Path of a YAML or JSON config file (also LKLAB_CONFIG). */
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  /** Overrides from CLI flags, already shaped like the config (e.g. { server: { port: 4000 } }). */
  overrides?: DeepPartial<LabConfig>;
}

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};

interface Problem {
  setting: string;
  source: string;
  reason: string;
}

/** Loads, validates and freezes the configuration. Throws one LabError listing every problem. */
export function loadConfig(sources: ConfigSources = {}): Readonly<LabConfig> {
  const env = sources.env ?? process.env;
  const problems: Problem[] = [];
  const origin = new Map<string, string>(); // setting path → where its value came from
  const merged = structuredClone(DEFAULTS) as unknown as Record<string, unknown>;

  const file = sources.file ?? env.LKLAB_CONFIG;
  if (file) {
    const fromFile = readConfigFile(file);
    mergeInto(merged, fromFile, '', `config file ${file}`, origin, problems);
  }
  for (const [name, spec] of Object.entries(ENV_SETTINGS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (spec.type === 'number') {
      value = Number(raw);
      if (!Number.isFinite(value)) {
        problems.push({
          setting: spec.path,
          source: `environment variable ${name}`,
          reason: `"${raw}" is not a number`,
        });
        continue;
      }
    } else if (spec.type === 'list')
      value = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (spec.type === 'boolean') value = raw === 'true' || raw === '1';
    setPath(merged, spec.path, value);
    origin.set(spec.path, `environment variable ${name}`);
  }
  if (sources.overrides)
    mergeInto(
      merged,
      sources.overrides as Record<string, unknown>,
      '',
      'command-line flag',
      origin,
      problems,
    );

  for (const err of Value.Errors(ConfigSchema, merged)) {
    const setting = err.path.replace(/^\//, '').replace(/\//g, '.');
    const top = [...origin.keys()].find((k) => setting === k || setting.startsWith(`${k}.`));
    problems.push({
      setting,
      source: origin.get(setting) ?? (top ? origin.get(top)! : 'defaults'),
      reason: `${err.message}, got ${redactSetting(setting, err.value)}${hint(err.schema)}`,
    });
  }
  if (problems.length > 0) {
    const unknown = problems.some((p) => p.reason.startsWith('unknown setting'));
    throw new LabError(
      unknown && problems.length === 1 ? 'LKL_ERR_CONFIG_UNKNOWN_KEY' : 'LKL_ERR_CONFIG_INVALID',
      `Invalid configuration:\n${problems.map((p) => `  - ${p.setting} (from ${p.source}): ${p.reason}`).join('\n')}\n` +
        'Fix each setting above (see docs/configuration.md for every setting, its unit and default).',
      { details: { problems } },
    );
  }
  const config = merged as unknown as LabConfig;
  config.dataDir = resolve(config.dataDir);
  return deepFreeze(config);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LabError(
      'LKL_ERR_CONFIG_FILE_UNREADABLE',
      `Cannot read config file ${file}: ${(err as Error).message}. Check the path given with --config or LKLAB_CONFIG.`,
      { cause: err },
    );
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new LabError(
      'LKL_ERR_CONFIG_FILE_UNREADABLE',
      `Config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new LabError(
      'LKL_ERR_CONFIG_FILE_UNREADABLE',
      `Config file ${file} must hold a mapping of settings (e.g. "server: {port: 3000}").`,
    );
  }
  return parsed as Record<string, unknown>;
}

function mergeInto(
  target: Record<string, unknown>,
  source: Record<string, unknown>,
  prefix: string,
  sourceName: string,
  origin: Map<string, string>,
  problems: Problem[],
): void {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const path = prefix ? `${prefix}.${key}` : key;
    if (!(key in target)) {
      const suggestion = closest(key, Object.keys(target));
      problems.push({
        setting: path,
        source: sourceName,
        reason: `unknown setting${suggestion ? `; did you mean "${prefix ? `${prefix}.` : ''}${suggestion}"?` : ''} Known here: ${Object.keys(target).join(', ')}`,
      });
      continue;
    }
    const current = target[key];
    if (isPlainObject(current) && isPlainObject(value)) {
      mergeInto(current, value, path, sourceName, origin, problems);
    } else {
      target[key] = value;
      origin.set(path, sourceName);
    }
  }
}

function hint(schema: { description?: string }): string {
  return schema.description ? ` (${schema.description})` : '';
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
  cur[parts[parts.length - 1] as string] = value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === 'object') {
    for (const v of Object.values(obj)) deepFreeze(v);
    Object.freeze(obj);
  }
  return obj;
}

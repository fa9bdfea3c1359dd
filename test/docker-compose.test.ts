import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../cli/main.js';
import { DEFAULTS } from '../kernel/config/defaults.js';
import { ENV_SETTINGS } from '../kernel/config/load-config.js';

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, unknown>;
}

const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const pom = readFileSync(new URL('../scripts/stack/pom.xml', import.meta.url), 'utf8');
const labServices = Object.entries(compose.services).filter(([name]) => name !== 'kafka' && name !== 'redis');

describe('docker-compose.yml', () => {
  it('runs Kafka 3.9 (KRaft, official image) and Redis 7, the same Kafka line as the local stack', () => {
    const kafkaVersion = /<kafka\.version>([\d.]+)<\/kafka\.version>/.exec(pom)?.[1];
    expect(kafkaVersion).toMatch(/^3\.9\./);
    expect(compose.services.kafka!.image).toMatch(/^apache\/kafka:3\.9\.\d+$/);
    expect(compose.services.kafka!.environment!.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(compose.services.redis!.image).toBe('redis:7');
  });

  it('runs each lab component as its own service, each a real lklab command', () => {
    const commands = new Set(buildProgram().commands.map((c) => c.name()));
    const used = labServices.map(([, s]) => s.command![0]!);
    expect(used.sort()).toEqual([
      'batch-worker',
      'batch-worker',
      'kappa-worker',
      'produce',
      'serve',
      'speed-layer',
    ]);
    for (const c of used) expect(commands, `lklab ${c}`).toContain(c);
  });

  it('gives every service a healthcheck and the lab services a shared data volume at LKLAB_DATA_DIR', () => {
    for (const [name, s] of Object.entries(compose.services))
      expect(s.healthcheck?.test.length, name).toBeGreaterThan(0);
    for (const [name, s] of labServices) {
      expect(s.volumes, name).toContain(`lab-data:${s.environment!.LKLAB_DATA_DIR}`);
      expect(s.depends_on, name).toBeDefined();
    }
    expect(Object.keys(compose.volumes)).toContain('lab-data');
  });

  it('uses only environment variables the lab knows, pointing at the compose services', () => {
    const known = new Set(Object.keys(ENV_SETTINGS));
    for (const [name, s] of labServices) {
      for (const key of Object.keys(s.environment ?? {})) expect(known, `${name}: ${key}`).toContain(key);
      expect(s.environment!.KAFKA_BROKERS).toBe('kafka:9092');
      expect(s.environment!.REDIS_URL).toBe('redis://redis:6379');
    }
  });

  it('publishes the API on loopback at the default port, and its healthcheck asks /api/ready', () => {
    const serve = compose.services.serve!;
    expect(serve.ports).toEqual([`127.0.0.1:${DEFAULTS.server.port}:${DEFAULTS.server.port}`]);
    expect(serve.command).toContain(String(DEFAULTS.server.port));
    expect(serve.healthcheck!.test.join(' ')).toContain(`:${DEFAULTS.server.port}/api/ready`);
  });
});

import { isIP } from 'node:net';
import type { LabConfig } from '../../kernel/config/defaults.js';
import { LabError } from '../../kernel/errors/lab-error.js';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * The lab's rule for exposing the API: bound to loopback it may run without a token; bound
 * anywhere else (0.0.0.0, ::, a LAN address) it needs `server.token`, or it refuses to start.
 */
export function assertSafeBind(server: Pick<LabConfig['server'], 'host' | 'port' | 'token'>): void {
  if (isLoopbackHost(server.host) || server.token !== '') return;
  throw new LabError(
    'LKL_ERR_CONFIG_UNSAFE_BIND',
    `server.host is "${server.host}", which is not a loopback address, and server.token is empty: anyone who can reach port ${server.port} could start replays, deploy logic and write events. ` +
      'Set a token (export LKLAB_TOKEN=$(openssl rand -hex 32), or server.token in the config file; clients send "Authorization: Bearer <token>", the CLI reads LKLAB_TOKEN), ' +
      'or bind to 127.0.0.1 (the default; --host / LKLAB_HOST). See docs/security.md.',
  );
}

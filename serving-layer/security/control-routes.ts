/**
 * Which routes are control routes, i.e. change the lab (start a replay, switch over, deploy, run a
 * batch or a scenario, write events, reset). They need the bearer token whenever one is configured
 * (and one must be when the server binds a non-loopback address).
 *
 * The rule, for every engineer adding a route:
 * - every route whose method is not GET/HEAD/OPTIONS is a control route by default;
 * - a GET route that changes something declares `config: { control: true }`;
 * - a non-GET route that only reads (a query with a body) may opt out with `config: { control: false }`.
 */
declare module 'fastify' {
  interface FastifyContextConfig {
    /** true: needs the token when one is configured; false: never; unset: by method (see above). */
    control?: boolean;
  }
}

/** Spread into a route's options to mark it a control route explicitly: `{ config: CONTROL, schema }`. */
export const CONTROL = { control: true } as const;

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isControlRoute(method: string, config: { control?: boolean } | undefined): boolean {
  if (config?.control !== undefined) return config.control;
  return !READ_METHODS.has(method.toUpperCase());
}

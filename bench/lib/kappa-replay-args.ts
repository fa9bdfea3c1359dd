/** The flags of bench/kappa-replay-bench.ts, as its parseArgs() returns them (defaults and --help there). */
export interface Args {
  events: number;
  kafkaEvents: number;
  partitions: number;
  dir: string;
  skip: Set<string>;
  engines: string[];
  latencyRate: number;
  latencySeconds: number;
  kafkaThreads: number;
  peer: string;
  keepTopic: boolean;
  json: string;
}

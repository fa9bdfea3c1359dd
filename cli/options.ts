import { InvalidArgumentError } from 'commander';

export function intOption(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} takes a whole number, got "${v}".`);
    return n;
  };
}

export function numberOption(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} takes a number, got "${v}".`);
    return n;
  };
}

/**
 * The "(default: …)" of an option whose default comes from the configuration (DEFAULTS, a config
 * file, an environment variable), so `--help` shows it without the option overriding the config.
 */
export function configDefault(value: string | number, setting: string): string {
  return `(default: ${value}, or the config's ${setting})`;
}

/** The description of every `--config <file>` option. */
export const CONFIG_FILE_HELP = 'YAML or JSON config file (default: $LKLAB_CONFIG when set, else none)';

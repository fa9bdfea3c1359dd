import { Command, CommanderError } from 'commander';
import { isLabError } from '../kernel/errors/lab-error.js';
import { registerComponents } from './commands/components.js';
import { registerGenerate } from './commands/generate.js';
import { registerImport } from './commands/import.js';
import { registerKappa } from './commands/kappa.js';
import { registerLambda } from './commands/lambda.js';
import { registerScenario } from './commands/scenario.js';
import { registerStart } from './commands/start.js';
import { registerStatus } from './commands/status.js';

export function buildProgram(): Command {
  const program = new Command('lklab')
    .description(
      'Lambda–Kappa Lab: run the Lambda and Kappa architectures side by side on YSB and measure them.',
    )
    .version('0.1.0');
  registerStart(program);
  registerStatus(program);
  registerComponents(program);
  registerGenerate(program);
  registerImport(program);
  registerLambda(program);
  registerKappa(program);
  registerScenario(program);
  forEachCommand(program, (cmd, path) => {
    cmd.exitOverride();
    // A usage error is one line that names the problem and the --help to read (exit code 2).
    cmd.configureOutput({
      outputError: (str, write) =>
        write(
          `lklab: ${str
            .trim()
            .replace(/^error: /, '')
            .replace(/\s*\n\s*/g, ' ')} (see \`${path} --help\`)\n`,
        ),
    });
  });
  return program;
}

/** Calls `fn` with every command of the program (the program itself included) and its full name. */
export function forEachCommand(
  cmd: Command,
  fn: (cmd: Command, path: string) => void,
  path = cmd.name(),
): void {
  fn(cmd, path);
  for (const sub of cmd.commands) forEachCommand(sub, fn, `${path} ${sub.name()}`);
}

export async function run(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isLabError(err)) console.error(`lklab: ${err.code}: ${err.message}`);
    else console.error(`lklab: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

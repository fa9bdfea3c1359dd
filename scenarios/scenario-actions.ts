import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ScenarioLab } from './scenario-lab.js';
import { isLabError } from '../kernel/errors/lab-error.js';
import { projectRoot } from '../kernel/util/project-root.js';
import type { ScenarioDriver } from './scenario-driver.js';
import type { TimelineItem } from './scenario-types.js';

export interface ActionOutcome {
  /** ok; refused = failed with the error code the scenario expected; error = failed otherwise */
  outcome: 'ok' | 'refused' | 'error';
  /** what happened, in one line */
  detail: string;
  errorCode: string | undefined;
}

/** How long a waiting action (batch-run, replay) may let scenario time run, ms. */
const WAIT_MS = 600_000;

export interface ActionContext {
  lab: ScenarioLab;
  driver: ScenarioDriver;
  /** the truth oracle recounts with this logic version from now on */
  setTruthLogic(version: number): void;
}

/** Runs one timeline action; errors become outcomes (a refused action is often the lesson). */
export async function runAction(item: TimelineItem, ctx: ActionContext): Promise<ActionOutcome> {
  try {
    const detail = await perform(item, ctx);
    if (item.expectError)
      return {
        outcome: 'error',
        detail: `${detail} — but ${item.expectError} was expected`,
        errorCode: undefined,
      };
    return { outcome: 'ok', detail, errorCode: undefined };
  } catch (err) {
    const code = isLabError(err) ? err.code : undefined;
    const message = (err as Error).message;
    if (item.expectError && code === item.expectError)
      return { outcome: 'refused', detail: `refused as expected: ${code}: ${message}`, errorCode: code };
    return { outcome: 'error', detail: code ? `${code}: ${message}` : message, errorCode: code };
  }
}

async function perform(item: TimelineItem, ctx: ActionContext): Promise<string> {
  const s = ctx.lab.services;
  switch (item.action) {
    case 'crash':
      if (item.component === 'speed') {
        await s.speed.crash(item.point);
        return `speed layer crashed (${item.point}); its in-memory counts are gone, offsets not committed`;
      }
      if (item.component === 'kappa') {
        await s.kappa.stop();
        return 'Kappa jobs stopped (each checkpointed atomically: no double count on restart)';
      }
      await s.generator.stop();
      return 'generator stopped';
    case 'restart':
      if (item.component === 'speed') {
        await s.speed.start();
        return 'speed layer restarted at its last committed offsets';
      }
      if (item.component === 'kappa') {
        await s.kappa.start();
        return 'Kappa jobs restarted from their checkpoints';
      }
      s.generator.start();
      return 'generator started';
    case 'stop':
    case 'start':
      return await stackCommand(`${item.component}-${item.action}`);
    case 'deploy':
      if (item.layer === 'batch') s.batch.deploy(item.version);
      else await s.speed.requestDeploy(item.version);
      return `logic v${item.version} deployed to the ${item.layer} layer only`;
    case 'intend-logic':
      ctx.setTruthLogic(item.version);
      return `the truth oracle now counts with logic v${item.version}`;
    case 'batch-run': {
      const run = s.batch.requestRun('scenario');
      if (item.wait === false) return `batch run ${run.id} requested`;
      await ctx.driver.waitFor(() => {
        const r = s.batch.getRun(run.id);
        return r?.state === 'completed' || r?.state === 'failed';
      }, WAIT_MS);
      const r = s.batch.getRun(run.id)!;
      if (r.state !== 'completed')
        return `batch run ${r.id} ${r.state} (${r.error ?? 'no error recorded'}); the last good view keeps serving`;
      return `batch run ${r.id} completed: view v${r.viewVersion}, ${r.events} events, ${r.retries} task retries`;
    }
    case 'fail-map-tasks':
      s.batch.injectMapFailures(item.untilAttempt);
      return `map tasks of the next batch runs fail until attempt ${item.untilAttempt}`;
    case 'replay': {
      const job = await s.kappa.startReplay({
        logicVersion: item.version,
        ...(item.force !== undefined ? { force: item.force } : {}),
        ...(item.rateLimit !== undefined ? { rateLimit: item.rateLimit } : {}),
        ...(item.source !== undefined ? { source: item.source } : {}),
      });
      const from = job.source === 'archive' ? ' from the archive, then the log' : '';
      if (item.wait === false) return `replay job ${job.id} (logic v${item.version})${from} started`;
      const auto = s.kappa.settings.autoSwitchover;
      const ok = await ctx.driver.waitFor(() => {
        const st = s.kappa.job(job.id)?.state;
        return auto ? s.kappa.activeJob === job.id : st === 'caught-up' || st === 'live';
      }, WAIT_MS);
      if (!ok)
        throw new Error(`replay job ${job.id} did not catch up within ${WAIT_MS / 1000} s of scenario time`);
      return auto
        ? `replay job ${job.id} (logic v${item.version})${from} caught up; readers switched over`
        : `replay job ${job.id} (logic v${item.version})${from} caught up`;
    }
    case 'switchover': {
      const p = await s.kappa.switchover(item.mode !== undefined ? { mode: item.mode } : {});
      return `readers switched to Kappa job ${p.job} (logic v${p.logicVersion})${p.cutoverRecord ? ` — ${p.cutoverRecord.reason}` : ''}`;
    }
    case 'rollback': {
      const p = await s.kappa.rollback();
      return `readers rolled back to Kappa job ${p.job}`;
    }
    case 'set-rate':
      await s.generator.setRate(item.rate);
      return `generator rate set to ${item.rate} events/s`;
    case 'enforce-retention': {
      const log = s.log as { enforceRetention?: () => Promise<void> };
      if (!log.enforceRetention) return 'the broker applies retention on its own schedule';
      await log.enforceRetention();
      return 'log retention applied: old segments deleted';
    }
  }
}

const run = promisify(execFile);

/** Stops or starts Kafka/Redis of the local stack (distributed live mode only; checked before the run). */
async function stackCommand(command: string): Promise<string> {
  const script = join(projectRoot(), 'scripts', 'stack', 'stack.sh');
  await run('bash', [script, command], { timeout: 180_000 });
  return `scripts/stack/stack.sh ${command} done`;
}

/**
 * The switchover concern of the Kappa reprocessor: the gate and the cutover audit the lab wires in,
 * the verification they answer, the manual and the automatic switchover (with its cutover mode), and
 * the retry of an automatic switchover the gate refused — once per window, never thrown.
 * KappaReprocessor serializes the calls (its control chain) and delegates here.
 */
import { isLabError } from '../../kernel/errors/lab-error.js';
import { WINDOW_MS } from '../../kernel/events/ysb-event.js';
import { LAB_EVENTS } from '../../kernel/instrumentation/lab-events.js';
import type { KappaJobRecord } from '../state/index.js';
import { verificationTarget } from './commands.js';
import {
  executeSwitchover,
  lastCutoverReport,
  type CommandDeps,
  type CutoverRequest,
} from './command-effects.js';
import type { CutoverAudit, CutoverReport } from './cutover.js';
import { replayCandidate } from './lifecycle.js';
import {
  askGate,
  type KappaVerification,
  type SwitchoverGate,
  type SwitchoverResult,
} from './verification.js';

/** After the gate refused an automatic switchover, it is tried again at most this often (ms): a new window closes every 10 s. */
const AUTO_RETRY_MS = WINDOW_MS;

export class SwitchoverControl {
  /** Compares a replay's table with the truth before a switchover (wired by the lab; none = unavailable). */
  private gate: SwitchoverGate | undefined;
  /** Counts what readers lost or got twice under the last cutover (wired by the lab; none = unavailable). */
  private audit: CutoverAudit | undefined;
  /** Replay job → when an automatic switchover the gate refused is tried again. */
  private readonly autoRetryAt = new Map<number, number>();

  constructor(
    private readonly d: {
      /** The command dependencies as of now (settings are read live). */
      deps(): CommandDeps;
      onError(err: Error): void;
    },
  ) {}

  useGate(gate: SwitchoverGate | undefined): void {
    this.gate = gate;
  }

  useAudit(audit: CutoverAudit | undefined): void {
    this.audit = audit;
  }

  /** The manual switchover: a `failed` verdict refuses unless `skipVerification`. */
  async manual(opts: { skipVerification?: boolean } & CutoverRequest): Promise<SwitchoverResult> {
    const out = await executeSwitchover(
      this.d.deps(),
      'manual',
      (c, cur) => this.verify(c, cur),
      opts.skipVerification === true,
      { mode: opts.mode, at: opts.at },
    );
    this.autoRetryAt.delete(out.job);
    return out;
  }

  /** The automatic switchover: a refusal by the gate is recorded and retried once per window, never thrown. */
  async auto(now: number): Promise<void> {
    const deps = this.d.deps();
    try {
      const out = await executeSwitchover(deps, 'auto', (c, cur) => this.verify(c, cur));
      this.autoRetryAt.delete(out.job);
    } catch (err) {
      if (!isLabError(err) || err.code !== 'LKL_ERR_KAPPA_VERIFICATION_FAILED') throw err;
      const v = err.details?.verification as KappaVerification;
      const retryAt = now + AUTO_RETRY_MS;
      this.autoRetryAt.set(v.job, retryAt);
      this.d.onError(err);
      deps.bus.emit(LAB_EVENTS.KAPPA_SWITCHOVER_REFUSED, now, {
        job: v.job,
        failedWindows: v.failedWindows,
        retryAt,
        reason: v.reason,
      });
    }
  }

  /** A caught-up replay whose automatic switchover the gate refused: tries again once per window. */
  async retryDue(now: number): Promise<void> {
    const { registry, settings } = this.d.deps();
    const cand = replayCandidate(registry.jobs.values());
    const retryAt = cand ? this.autoRetryAt.get(cand.id) : undefined;
    if (cand?.state === 'caught-up' && settings.autoSwitchover && retryAt !== undefined && now >= retryAt)
      await this.auto(now);
  }

  /** The gate's verdict on job `id` (default: the replay in progress, else the active job) against the active job. */
  verification(id?: number): Promise<KappaVerification> {
    const { registry } = this.d.deps();
    const { job, against } = verificationTarget(registry.jobs, registry.active, id);
    return this.verify(job, against);
  }

  /** The last switchover's cutover with, per window around it, what readers lost or got twice; null before the first. */
  cutover(): Promise<CutoverReport | null> {
    const { store, registry } = this.d.deps();
    return lastCutoverReport({ store, registry }, this.audit);
  }

  private verify(job: KappaJobRecord, against: KappaJobRecord | undefined): Promise<KappaVerification> {
    const { settings, clock } = this.d.deps();
    return askGate(this.gate, settings.verifyWindows, clock.now(), job, against);
  }
}

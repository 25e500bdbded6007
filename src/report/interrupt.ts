// Ctrl-C (and SIGTERM, which batch schedulers send before killing a job): the first asks the runner to stop after
// its current step — it polls `requested`, writes what is done and exits with INTERRUPTED_EXIT_CODE and a resume
// hint; the second exits at once.
export const INTERRUPTED_EXIT_CODE = 130;

export interface Interrupt {
  readonly requested: boolean;
  dispose(): void;
}

export interface InterruptOptions {
  signals?: NodeJS.Signals[]; // default SIGINT, SIGTERM
  log?: (message: string) => void; // default: a line on stderr
  exit?: (code: number) => void; // default process.exit
}

export function onInterrupt(onFirst?: (signal: NodeJS.Signals) => void, options: InterruptOptions = {}): Interrupt {
  const signals = options.signals ?? ["SIGINT", "SIGTERM"];
  const log = options.log ?? ((m: string) => process.stderr.write(`\n${m}\n`));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let requested = false;
  const handler = (signal: NodeJS.Signals) => {
    if (requested) {
      log(`${signal} again: exiting now; tasks finished so far are saved.`);
      exit(INTERRUPTED_EXIT_CODE);
      return;
    }
    requested = true;
    log(`${signal}: finishing the current step, then writing what is done (press Ctrl-C again to exit now).`);
    onFirst?.(signal);
  };
  for (const s of signals) process.on(s, handler);
  return {
    get requested() {
      return requested;
    },
    dispose() {
      for (const s of signals) process.off(s, handler);
    },
  };
}

/** A signal handler runs only when the event loop gets a turn; a loop whose awaits resolve at once (prefetched batches)
 * never gives it one unless it yields like this after each step. */
export const letSignalsIn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

export const resumeHint = (runDir: string): string => `interrupted; to continue: bun run tta resume=${runDir}`;

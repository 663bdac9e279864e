/**
 * SIGTERM and SIGINT for the long-running roles. Listening starts before a role starts, so a signal
 * that arrives while it is still starting (migrating, connecting) stops it as soon as it is up, instead
 * of being lost. From the first signal the role has SHUTDOWN_TIMEOUT to stop by itself; after that the
 * process exits with 1, so that an orchestrator never waits on a hung close. A second signal exits at once.
 */
export interface Shutdown {
  /** Resolves with the signal's name on the first SIGTERM or SIGINT. */
  readonly requested: Promise<NodeJS.Signals>;
  /** Milliseconds left before the forced exit (the whole timeout while no signal came). */
  remainingMs(): number;
}

export function listenForShutdown(options: {
  timeoutMs: number;
  log: { info(message: string): void; error(message: string): void };
}): Shutdown {
  let deadline: number | undefined;
  let resolve!: (signal: NodeJS.Signals) => void;
  const requested = new Promise<NodeJS.Signals>((r) => {
    resolve = r;
  });

  const onSignal = (signal: NodeJS.Signals) => {
    if (deadline !== undefined) {
      options.log.error(`${signal} received again: exiting now`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    deadline = Date.now() + options.timeoutMs;
    options.log.info(`${signal} received, shutting down (at most ${options.timeoutMs / 1000} s)`);
    // Unreferenced: a process that finishes its work exits without waiting for it.
    setTimeout(() => {
      options.log.error(`not stopped after ${options.timeoutMs / 1000} s (SHUTDOWN_TIMEOUT): exiting anyway`);
      process.exit(1);
    }, options.timeoutMs).unref();
    resolve(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  return {
    requested,
    remainingMs: () => (deadline === undefined ? options.timeoutMs : Math.max(0, deadline - Date.now())),
  };
}

/**
 * How long work in hand (a send in flight) may take to finish: most of what is left, keeping a part
 * for releasing what did not finish and closing connections.
 */
export function graceFor(shutdown: Shutdown): number {
  return Math.floor(shutdown.remainingMs() * 0.6);
}

/**
 * An internal invariant broke (credit overflow, tag reuse, a push into a full channel...).
 * It names the cycle and the module path so the failure can be found in the VCD, which the
 * simulator flushes up to that cycle before the error leaves `step()`.
 */
export class SimulationError extends Error {
  constructor(
    readonly detail: string,
    readonly cycle: number,
    readonly path: string,
  ) {
    super(`cycle ${cycle}: ${path}: ${detail}`);
    this.name = 'SimulationError';
  }
}

/** Bad configuration or bad user input: caught at elaboration, never mid-simulation. */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field}: ${rule}`);
    this.name = 'ConfigError';
  }
}

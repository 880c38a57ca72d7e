import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  IsolatedCircuitError,
} from 'cockatiel';
import type { BreakerConfig } from '../config/gateway-config.js';
import { circuitOpen, isConnectionFailure } from '../problems/appliance-errors.js';

/**
 * Per-appliance circuit breaker (cockatiel): after `consecutiveFailures` connection failures or
 * timeouts in a row, calls fail at once with 503 APPLIANCE_UNAVAILABLE and a Retry-After, until after
 * `halfOpenAfterMs` one call may try again and closes the circuit if it succeeds. One dead vCenter
 * then costs a fleet run nothing, instead of a timeout per call.
 * Answers of any kind (4xx, 5xx) count as the appliance being there.
 */
export class ApplianceBreaker {
  private readonly policy: CircuitBreakerPolicy;
  private openedAt = 0;

  constructor(
    private readonly appliance: string,
    private readonly config: BreakerConfig,
    /** Told each state change: 0 closed, 1 open, 2 half-open (for the breaker-state metric). */
    onState: (state: 0 | 1 | 2) => void = () => undefined,
  ) {
    this.policy = circuitBreaker(handleWhen(isConnectionFailure), {
      halfOpenAfter: config.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(config.consecutiveFailures),
    });
    this.policy.onBreak(() => {
      this.openedAt = Date.now();
      onState(1);
    });
    this.policy.onHalfOpen(() => onState(2));
    this.policy.onReset(() => onState(0));
    onState(0);
  }

  async execute<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(action);
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) throw this.openError();
      throw error;
    }
  }

  get isOpen(): boolean {
    return this.policy.state === 1; // CircuitState.Open
  }

  private openError() {
    const retryAfter = Math.max(1, Math.ceil((this.openedAt + this.config.halfOpenAfterMs - Date.now()) / 1000));
    return circuitOpen(this.appliance, this.config.consecutiveFailures, retryAfter);
  }
}

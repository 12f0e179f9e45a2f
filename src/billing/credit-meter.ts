// What the billing module tells an observer (the server's metrics) about balance changes: each burn or top-up
// applied, with its amount. Replays of an idempotency key and refused changes move no credits and are not told.
import type { CreditKind } from './credits.js';

export interface CreditMeter {
  applied(kind: CreditKind, amount: bigint): void;
}

/** A source of the current time in milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** The process clock. */
export const systemClock: Clock = { now: () => Date.now() };

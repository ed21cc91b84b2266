/** Source of the current time, injected so expiry and visibility rules can be tested without waiting. */
export interface Clock {
  now(): Date;
}

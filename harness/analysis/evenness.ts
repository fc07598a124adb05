/**
 * "Too even to be random": the verdict on the lower tail of the χ² goodness-of-fit test
 * (fairness.ts chiSquareTest), kept apart from the test so the CLI can word it without loading
 * the gamma function.
 *
 * Below TOO_EVEN_P the spread is more even than independent random picks give: what a round-robin
 * (IPVS rr) produces on short-lived connections. The lower tail comes from the continuous χ²
 * distribution, which puts no mass on an exactly even split while the counts do (300 connections
 * over 3 pods split 100/100/100 with probability 0.0028 under independent picks): for small n read
 * the verdict as "round-robin-like", not as an exact probability.
 */
export const TOO_EVEN_P = 0.001;
export const tooEvenText = 'more even than random picks: round-robin-like';

/** Whether a χ² result says the spread is more even than independent random picks give (valid test, tiny lower tail). */
export function tooEven(chi: { valid: boolean; lowerPValue?: number | null | undefined }): boolean {
  return chi.valid && typeof chi.lowerPValue === 'number' && chi.lowerPValue < TOO_EVEN_P;
}

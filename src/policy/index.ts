/**
 * policy/: channel, ring, staged percentages and version rules. Pure functions.
 * @module
 */
export { ringPercent, rolloutBucket } from './bucket.js';
export { type Decision, type InstallFacts, type NotAvailableReason, decideUpdate, downloadStopReason, holdNewRelease } from './eligibility.js';

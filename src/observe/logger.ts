/**
 * The logger an app may hand to the Updater. twinslot logs at the points an operator
 * needs (a step ended, a retry, a mirror failover, a patch fallback, a revert), never
 * per chunk. The default is silent; `console` fits the interface as it is.
 *
 * @module
 */
import { UpdateError } from '../errors.js';

/** Structured facts attached to a log line: plain, JSON-safe data, never secrets. */
export type LogFields = Record<string, unknown>;

/**
 * Where twinslot writes its log lines. Every method takes a one-line message and
 * optional structured fields. `console`, pino and winston loggers fit (or wrap them).
 *
 * @example
 * ```ts
 * new Updater({ installRoot, logger: console });
 * new Updater({ installRoot, logger: { debug: () => {}, info: log.info, warn: log.warn, error: log.error } });
 * ```
 */
export interface Logger {
  /** Phase transitions and step starts. */
  debug(message: string, fields?: LogFields): void;
  /** A step ended well (update found, downloaded, installed, committed). */
  info(message: string, fields?: LogFields): void;
  /** Something went wrong and was handled: a retry, a mirror failover, a patch fallback, a revert. */
  warn(message: string, fields?: LogFields): void;
  /** A step failed, or the `report` hook threw. */
  error(message: string, fields?: LogFields): void;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** The default: says nothing. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Throws `INVALID_OPTIONS` unless `value` has the four logging methods. */
export function checkLogger(value: unknown, where: string): void {
  if (typeof value !== 'object' || value === null) throw new UpdateError('INVALID_OPTIONS', `${where}: logger must be an object with debug, info, warn and error methods`);
  for (const level of LOG_LEVELS) {
    if (typeof (value as Record<string, unknown>)[level] !== 'function') throw new UpdateError('INVALID_OPTIONS', `${where}: logger.${level} must be a function`);
  }
}

/**
 * The app's logger, made safe: a logger that throws must never break an update, so
 * its errors are swallowed here (there is nowhere left to report them).
 */
export function safeLogger(logger: Logger | undefined): Logger {
  if (!logger) return silentLogger;
  const wrap =
    (level: (typeof LOG_LEVELS)[number]) =>
    (message: string, fields?: LogFields): void => {
      try {
        if (fields === undefined) logger[level](message);
        else logger[level](message, fields);
      } catch {
        // The logger itself failed: dropping one line is better than failing the update.
      }
    };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}

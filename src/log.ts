// The structured logger of a vnetd process: one JSON object per line on stderr (stdout is kept for
// the few human lines `vnetd start` prints), with a level threshold from the configuration. Every
// layer below gets a sink in its own shape (raft/node's LogLine, storage and transport's
// (event, fields)) from here, so one process writes one uniform stream.

export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];

const rank: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

export type LogFields = Readonly<Record<string, unknown>>;
export type LogWrite = (line: string) => void;

export interface Logger {
  readonly level: LogLevel;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. the component name). */
  child(fields: LogFields): Logger;
  /** A sink in raft/node's shape: `{level, msg, ...fields}`. */
  lineSink(): (line: { readonly level: LogLevel; readonly msg: string } & Record<string, unknown>) => void;
  /** A sink in raft/storage's and raft/transport's shape: `(event, fields)`, logged at `level`. */
  eventSink(level: LogLevel, component: string): (event: string, fields: Record<string, unknown>) => void;
}

/** Turns values JSON cannot carry (errors, bigints) into text so a log call never throws. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function format(level: LogLevel, msg: string, base: LogFields, fields: LogFields | undefined): string {
  const record = { t: new Date().toISOString(), level, msg, ...base, ...fields };
  try {
    return JSON.stringify(record, replacer);
  } catch {
    // A cyclic field: keep the message rather than lose the line.
    return JSON.stringify({ t: record.t, level, msg, unserialisable: true });
  }
}

export function createLogger(level: LogLevel = 'info', write: LogWrite = (l) => process.stderr.write(l + '\n'), base: LogFields = {}): Logger {
  const threshold = rank[level];
  const logger: Logger = {
    level,
    log(lvl, msg, fields) {
      if (rank[lvl] < threshold) return;
      write(format(lvl, msg, base, fields));
    },
    debug: (msg, fields) => logger.log('debug', msg, fields),
    info: (msg, fields) => logger.log('info', msg, fields),
    warn: (msg, fields) => logger.log('warn', msg, fields),
    error: (msg, fields) => logger.log('error', msg, fields),
    child: (fields) => createLogger(level, write, { ...base, ...fields }),
    lineSink: () => (line) => {
      const { level: lvl, msg, ...rest } = line;
      logger.log(lvl, msg, rest);
    },
    eventSink: (lvl, component) => (event, fields) => logger.log(lvl, event, { component, ...fields }),
  };
  return logger;
}

/** A logger that drops everything (tests that assert on other output). */
export const silentLogger: Logger = createLogger('error', () => {});

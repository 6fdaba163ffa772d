import { pino, type Logger, type LevelWithSilent } from 'pino';

/**
 * The service's logger: colored, one readable line per event for a person at a terminal
 * (pino-pretty), JSON lines for everything else (a log collector, systemd, a pipe).
 */
export function createLogger(level: LevelWithSilent, options: { pretty?: boolean } = {}): Logger {
  if (!options.pretty) return pino({ level });
  return pino({
    level,
    transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
  });
}

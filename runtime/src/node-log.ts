import { pino, type Level, type Logger } from 'pino';
import type { EventLog, LifecycleEvent } from './events.js';

/**
 * A node's lifecycle events as structured log lines (pino), at a level that says how much an
 * operator should care:
 *
 * - error: `object.persist-failed` (the calls it carried failed);
 * - warn: `node.session-lost`, `object.fenced`, and `object.deactivated` with reason `fenced` or
 *   `session-lost`;
 * - info: `node.up`, `node.down`, `node.joined`, `node.left` (membership), `node.draining` (progress),
 *   `node.drained`, `object.migrated`;
 * - debug: activations, deactivations, lock steps, `stats`;
 * - trace: `object.persisted` (one per write).
 *
 * Each line carries the event's fields (`event` is its kind, `seq` its sequence number) and the
 * logger's bindings (a node's logger binds `node`).
 */
export function logLifecycleEvents(events: EventLog, logger: Logger): () => void {
  return events.subscribe((event) => {
    const level = levelOf(event);
    if (!logger.isLevelEnabled(level)) return;
    const { kind, time: _time, node: _node, ...fields } = event;
    logger[level]({ event: kind, ...fields }, describe(event));
  });
}

function levelOf(event: LifecycleEvent): Level {
  switch (event.kind) {
    case 'object.persist-failed':
      return 'error';
    case 'node.session-lost':
    case 'object.fenced':
      return 'warn';
    case 'object.deactivated':
      return event.reason === 'fenced' || event.reason === 'session-lost' ? 'warn' : 'debug';
    case 'node.up':
    case 'node.down':
    case 'node.joined':
    case 'node.left':
    case 'node.draining':
    case 'node.drained':
    case 'object.migrated':
      return 'info';
    case 'object.persisted':
      return 'trace';
    default:
      return 'debug';
  }
}

function describe(event: LifecycleEvent): string {
  switch (event.kind) {
    case 'node.up': return `node up at ${event.address}`;
    case 'node.down': return `node down (${event.reason})`;
    case 'node.joined': return `node ${event.peer} joined`;
    case 'node.left': return `node ${event.peer} left`;
    case 'node.session-lost': return `ZooKeeper session lost: dropped ${event.activationsDropped} activations`;
    case 'node.draining': return `draining: ${event.remaining} of ${event.total} activations left`;
    case 'node.drained': return `drained ${event.deactivated} activations in ${event.durationMs} ms`;
    case 'lock.queued': return `${event.type}/${event.id} queued behind ${event.owner}`;
    case 'lock.acquired': return `${event.type}/${event.id} lock acquired`;
    case 'lock.released': return `${event.type}/${event.id} lock released`;
    case 'object.activated': return `${event.type}/${event.id} activated`;
    case 'object.persisted': return `${event.type}/${event.id} persisted`;
    case 'object.persist-failed': return `${event.type}/${event.id} write failed: ${event.error}`;
    case 'object.deactivated': return `${event.type}/${event.id} deactivated (${event.reason})`;
    case 'object.migrated': return `${event.type}/${event.id} migrated to ${event.to}`;
    case 'object.fenced': return `${event.type}/${event.id} fenced: a newer owner wrote it`;
    case 'stats': return 'stats';
  }
}

let silent: Logger | undefined;

/** The logger of a node given none: logs nothing (a library prints nothing on its own). */
export function silentLogger(): Logger {
  return (silent ??= pino({ level: 'silent' }));
}

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as runtime from '@highlander/runtime';
import {
  CallTimeout, CoordinatorUnavailable, ERROR_CLASSES, Fenced, HandlerFailed, HighlanderError, Indeterminate, InvalidArgument,
  InvalidNodeName, InvalidObjectId, InvalidState, InvalidTypeName, KeyspaceLayoutMismatch, MigrationRefused, NodeNameTaken, NodeStopping, NodeFull, NodeUnreachable,
  NotActiveHere, ObjectRejected, OwnershipLost, ProtocolError, ShardMapMismatch, StateTooLarge, StoreConditionsIgnored, StoreUnavailable, StoredStateCorrupt, UnknownHandler,
  UnknownObjectType, VersionConflict, deserializeError, httpStatusOf, type SerializedError,
} from '@highlander/runtime';
import { SOURCE_EXEC_ARGV } from '../../scripts/cluster.js';

/** One instance of every error class, with every context field set. */
const SAMPLES: Record<string, HighlanderError> = {
  InvalidObjectId: new InvalidObjectId('a b', 'allowed characters are A-Z a-z 0-9 . _ : @ -'),
  InvalidTypeName: new InvalidTypeName('Todo', 'a type name starts with a-z'),
  InvalidNodeName: new InvalidNodeName('node a', 'allowed characters are A-Z a-z 0-9 _ -'),
  UnknownObjectType: new UnknownObjectType('todo', 'node-a'),
  UnknownHandler: new UnknownHandler('todo', 'nope', ['rename', 'complete']),
  StateTooLarge: new StateTooLarge('todo', 'a', 2000, 1000),
  InvalidState: new InvalidState('todo', 'a', 'a state must be a JSON object or array'),
  CallTimeout: new CallTimeout('todo', 'a', 'rename', 50),
  HandlerFailed: new HandlerFailed('todo', 'a', 'rename', 'boom', new Error('boom')),
  ObjectRejected: new ObjectRejected('list', 'l', 'notAllowed', "user 'x' is not allowed", { message: 'm', userId: 'x' }),
  OwnershipLost: new OwnershipLost('todo', 'a', 'fenced'),
  Fenced: new Fenced('todo', 'a'),
  StoreUnavailable: new StoreUnavailable('write', 'objects/todo/a.json', new Error('connection refused')),
  Indeterminate: new Indeterminate('todo', 'a', 'the connection failed after the call was sent'),
  StoredStateCorrupt: new StoredStateCorrupt('objects/todo/a.json', 'not JSON'),
  CoordinatorUnavailable: new CoordinatorUnavailable('acquire lock of todo/a', new Error('timed out')),
  NodeNameTaken: new NodeNameTaken('node-a', 8000),
  NodeUnreachable: new NodeUnreachable('node-b', new Error('connection closed'), 'unknown'),
  NodeStopping: new NodeStopping('node-a'),
  NodeFull: new NodeFull('node-a', 1_499_900, 1_500_000),
  NotActiveHere: new NotActiveHere('todo', 'a', 'node-a'),
  MigrationRefused: new MigrationRefused('todo', 'a', 'node-z', 'no live node of that name'),
  ProtocolError: new ProtocolError('peer frame is not JSON'),
  InvalidArgument: new InvalidArgument('timeoutMs must be between 1 and 600000 ms (got 0)'),
  StoreConditionsIgnored: new StoreConditionsIgnored('http://127.0.0.1:9000 (bucket b)', 'a write with If-Match a stale ETag succeeded'),
  KeyspaceLayoutMismatch: new KeyspaceLayoutMismatch('/highlander', 'lock queues of the previous layout are held (todo/a)', 'stop every node of the previous version'),
  ShardMapMismatch: new ShardMapMismatch('/highlander', '/highlander/shard-map holds shard map version 2 (shards zk-b), this node was given none', 'start every node with the same --zk-shards file'),
  VersionConflict: new VersionConflict('todo', 'a', 3, 5, { title: 'now' }),
};

/** Every error class the runtime's entry point exports. */
const exportedClasses = Object.values(runtime).filter(
  (value): value is typeof HighlanderError => typeof value === 'function' && value.prototype instanceof HighlanderError,
);

/** Sends serialized errors to a child process, which rebuilds and serializes them again. */
function echoThroughChildProcess(errors: SerializedError[]): Promise<Array<{ name: string; className: string; serialized: SerializedError }>> {
  const child = fork(fileURLToPath(new URL('./errors-echo-process.ts', import.meta.url)), [], { execArgv: SOURCE_EXEC_ARGV, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { echoed: Array<{ name: string; className: string; serialized: SerializedError }> }) => resolve(message.echoed));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the echo process exited with ${code} before answering`)));
    child.send({ errors });
  });
}

describe('errors across node boundaries', () => {
  it('every exported error class is in the one registry, with a sample here', () => {
    expect(exportedClasses.map((c) => c.name).sort()).toEqual(Object.keys(SAMPLES).sort());
    expect(ERROR_CLASSES.map((c) => (c as unknown as { name: string }).name).sort()).toEqual(Object.keys(SAMPLES).sort());
    const codes = ERROR_CLASSES.map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('every error class comes back from another process as the same class, with its code, message and details', async () => {
    const originals = exportedClasses.map((c) => SAMPLES[c.name]!);
    const echoed = await echoThroughChildProcess(originals.map((e) => JSON.parse(JSON.stringify(e.serialize()))));
    expect(echoed).toHaveLength(originals.length);
    originals.forEach((original, i) => {
      const { name, className, serialized } = echoed[i]!;
      expect(className, original.code).toBe(original.constructor.name);
      expect(name).toBe(original.name);
      const copy = deserializeError(serialized);
      expect(copy, original.code).toBeInstanceOf(original.constructor);
      expect(copy.code).toBe(original.code);
      expect(copy.message).toBe(original.message);
      expect(copy.details()).toEqual(original.details());
      expect(copy.retryable).toBe(original.retryable);
      expect(copy.httpStatus).toBe(original.httpStatus);
    });
  });

  it('every error carries the HTTP status of its class', () => {
    for (const errorClass of ERROR_CLASSES) {
      const sample = SAMPLES[(errorClass as unknown as { name: string }).name]!;
      expect(sample.httpStatus, errorClass.code).toBe(errorClass.httpStatus);
      expect(httpStatusOf(sample)).toBe(errorClass.httpStatus);
      expect(errorClass.httpStatus).toBeGreaterThanOrEqual(400);
    }
    expect(new InvalidObjectId('', 'empty').httpStatus).toBe(400);
    expect(new NotActiveHere('t', 'i', 'n').httpStatus).toBe(404);
    expect(new MigrationRefused('t', 'i', 'n', 'r').httpStatus).toBe(409);
    expect(new ShardMapMismatch('/r', 'f', '').httpStatus).toBe(409);
    expect(new CallTimeout('t', 'i', 'h', 1).httpStatus).toBe(504);
    expect(httpStatusOf(new Error('plain'))).toBeUndefined();
  });

  it('an unknown code stays a HighlanderError with its message and retryability', () => {
    const copy = deserializeError({ code: 'FUTURE_THING', message: 'something new', retryable: true });
    expect(copy).toBeInstanceOf(HighlanderError);
    expect(copy.message).toBe('something new');
    expect(copy.retryable).toBe(true);
    expect(copy.httpStatus).toBe(500);
  });
});

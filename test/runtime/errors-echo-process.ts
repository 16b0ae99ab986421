/**
 * The other side of test/runtime/errors.test.ts, in a process of its own (forked with the source
 * conditions and tsx): rebuilds every serialized error it receives with `deserializeError`, as a
 * node does with an error from a peer, and sends back its class name and its serialization.
 */
import { deserializeError, type SerializedError } from '@highlander/runtime';

process.on('message', (message: { errors: SerializedError[] }) => {
  const echoed = message.errors.map((serialized) => {
    const error = deserializeError(serialized);
    return { name: error.name, className: error.constructor.name, serialized: error.serialize() };
  });
  process.send?.({ echoed }, () => process.exit(0));
});
process.on('disconnect', () => process.exit(0));

import { closeSync, openSync, readSync, statSync } from 'node:fs';

/**
 * Stable codes of {@link ServerStartError}:
 * - `SERVER_START_TIMEOUT`: the server did not become ready in time.
 * - `SERVER_EXITED`: the server process exited while we waited for it to become ready.
 * - `SERVER_COMMAND_FAILED`: a setup command (`ceph-authtool`, `ceph osd new`, …) failed.
 */
export type ServerStartErrorCode = 'SERVER_START_TIMEOUT' | 'SERVER_EXITED' | 'SERVER_COMMAND_FAILED';

/** A test server failed to start. The message ends with the tail of the relevant log(s). */
export class ServerStartError extends Error {
  override readonly name = 'ServerStartError';

  constructor(
    message: string,
    readonly code: ServerStartErrorCode,
    /** Which server, e.g. `zookeeper server 2` or `radosgw`. */
    readonly server: string,
    /** The last lines of the logs that explain the failure (also included in `message`). */
    readonly logTail: string,
    options?: { cause?: unknown },
  ) {
    super(logTail === '' ? message : `${message}\n${logTail}`, options);
  }
}

/**
 * The last `lines` lines of a log file, headed by its path, for error messages.
 * Never throws: a missing log is reported as such, since the point is to explain another failure.
 */
export function logTail(file: string, lines = 40): string {
  const maxBytes = 16 * 1024;
  let text: string;
  try {
    const size = statSync(file).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    text = buffer.toString('utf8');
  } catch (error) {
    return `--- ${file}: (unreadable: ${(error as Error).message}) ---`;
  }
  const tail = text.split('\n').filter((line, index, all) => index < all.length - 1 || line !== '');
  return [`--- last lines of ${file} ---`, ...tail.slice(-lines)].join('\n');
}

/**
 * Stable codes of {@link FaultProxyError}:
 * - `PROXY_CLOSED`: the proxy was asked to change its rules after close().
 * - `PROXY_FLAPPING`: a rule was set for a source (or the default) while a flap runs on it, or a
 *   second flap was started; await the flap or abort it through its signal first.
 */
export type FaultProxyErrorCode = 'PROXY_CLOSED' | 'PROXY_FLAPPING';

/** A fault proxy (scripts/servers/fault-proxy.ts) was asked for something its state does not allow. */
export class FaultProxyError extends Error {
  override readonly name = 'FaultProxyError';

  constructor(
    message: string,
    readonly code: FaultProxyErrorCode,
    /** The proxy's name, e.g. `node-a→zk1`. */
    readonly proxy: string,
  ) {
    super(message);
  }
}

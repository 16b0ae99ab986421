import zookeeper from 'node-zookeeper-client';
import { timing } from './timing.js';

/**
 * Forcing a ZooKeeper session to expire, the way an operator's tool or a long partition does: a
 * second client opens the victim's session with its id and password, then closes it; the victim's
 * next contact finds it expired.
 */

/** What a second client needs to open a session: its id, password and negotiated timeout. */
export interface SessionCredentials {
  readonly sessionId: Buffer;
  readonly sessionPassword: Buffer;
  readonly timeoutMs: number;
}

/**
 * One steal: opens the session with its credentials on a second client and closes it. Resolves
 * `true` when ZooKeeper answered that the session is already gone, `false` when the close was sent.
 * The close only ends the session if the victim has not reconnected meanwhile (it reconnects within
 * ~100 ms, and the session moves back to it): callers that must be sure either cut the victim off
 * first ({@link closeSessionFor}) or steal again until the victim reports the loss.
 */
export async function stealAndClose(connect: string, credentials: SessionCredentials): Promise<boolean> {
  // The types lack sessionId / sessionPassword; the client reads them (notes/zookeeper.md).
  const options = {
    sessionTimeout: credentials.timeoutMs, retries: 0,
    sessionId: credentials.sessionId, sessionPassword: credentials.sessionPassword,
  } as unknown as Parameters<typeof zookeeper.createClient>[1];
  const thief = zookeeper.createClient(connect, options);
  try {
    return await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`second client on the victim's session: not connected within ${timing.eventMs} ms`)), timing.eventMs);
      thief.once('connected', () => {
        clearTimeout(timer);
        resolve(false);
      });
      thief.once('expired', () => {
        clearTimeout(timer);
        resolve(true);
      });
      thief.connect();
    });
  } finally {
    thief.close();
  }
}

/**
 * Ends the session for sure while its owner cannot reach ZooKeeper (its path is cut, e.g. by a
 * FaultProxy in `blackhole`): steals and closes it until ZooKeeper answers that it is gone. Nothing
 * can win it back meanwhile, so this ends in two steals, within `timing.eventMs`.
 */
export async function closeSessionFor(connect: string, credentials: SessionCredentials): Promise<void> {
  const deadline = Date.now() + timing.eventMs;
  while (!(await stealAndClose(connect, credentials))) {
    if (Date.now() > deadline) throw new Error(`the session outlived its close for ${timing.eventMs} ms`);
  }
}

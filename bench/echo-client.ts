import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { trackChild } from './child-processes.js';

const ECHO_SERVER = fileURLToPath(new URL('./echo-server.ts', import.meta.url));

/**
 * The client side of the bare ws echo baseline: bench/echo-server.ts in its own process, one ws
 * connection to it, and `roundTrip()` resolving when the echo of its message is back (echoes come
 * back in order, so the replies are matched first in, first out).
 */
export class EchoClient {
  #waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  #closed: Error | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly untrack: () => void,
    private readonly ws: WebSocket,
    private readonly payload: string,
  ) {
    ws.on('message', () => this.#waiting.shift()?.resolve());
    ws.on('close', (code) => {
      this.#closed = new Error(`echo connection closed (${code})`);
      for (const waiting of this.#waiting.splice(0)) waiting.reject(this.#closed);
    });
  }

  /** Starts the echo server process and connects to it; every round trip sends `payload`. */
  static async start(payload: string): Promise<EchoClient> {
    const child = fork(ECHO_SERVER, [], { execArgv: ['--conditions=@highlander/source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const untrack = trackChild(child);
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.once('message', (message: { port: number }) => resolve(message.port));
        child.once('exit', (code) => reject(new Error(`echo server exited with ${code} before listening`)));
      });
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.on('error', () => {
        // The 'close' that follows rejects the round trips in flight.
      });
      return new EchoClient(child, untrack, ws, payload);
    } catch (err) {
      child.kill('SIGKILL');
      untrack();
      throw err;
    }
  }

  roundTrip(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.ws.send(this.payload);
    });
  }

  async close(): Promise<void> {
    this.ws.terminate();
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    this.child.disconnect(); // the server exits when its parent goes away
    await exited;
    this.untrack();
  }
}

import { connect } from 'node:net';

/**
 * Sends a ZooKeeper four-letter word (`srvr`, `mntr`, `stat`, …) over raw TCP and returns the whole
 * answer. Rejects on connection errors and when no complete answer arrives within `timeoutMs`
 * (a paused server accepts the connection but never answers).
 */
export function fourLetterWord(port: number, word: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => {
      socket.destroy(new Error(`no answer to '${word}' from 127.0.0.1:${port} within ${timeoutMs} ms`));
    });
    socket.on('connect', () => socket.end(word));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', (hadError) => {
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

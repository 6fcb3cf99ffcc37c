import net from 'node:net';

/** Below Linux's default ephemeral range (32768–60999), so no server that listens on port 0 takes one. */
const BLOCK_RANGE = { from: 20_000, to: 32_000 };

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * The first of `count` consecutive free ports on 127.0.0.1: for `npm start`, whose demo servers take PORT+1
 * and PORT+2. A port the OS hands to another test's server can never be one of them.
 */
export async function findFreePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = BLOCK_RANGE.from + Math.floor(Math.random() * (BLOCK_RANGE.to - BLOCK_RANGE.from - count));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => canListen(first + i)));
    if (free.every(Boolean)) return first;
  }
  throw new Error(`no ${count} consecutive free ports between ${BLOCK_RANGE.from} and ${BLOCK_RANGE.to}`);
}

import type { Server, ServerResponse } from 'node:http';
import { settlesBefore } from '../deadline';

/**
 * Follows a server's requests so that a stop can drain it: no new connection is taken, idle ones are
 * closed at once, each request in flight gets its answer (and its connection closes after it), and only
 * what is still open at the deadline is cut.
 */
export function drainable(server: Server): { drain(deadline: number): Promise<{ cut: number }> } {
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  server.on('request', (_req, res: ServerResponse) => {
    // A keep-alive connection may bring one more request during the drain: its answer ends the connection.
    if (draining) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  return {
    async drain(deadline) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const res of inFlight) {
        if (!res.headersSent) res.setHeader('Connection', 'close');
        else res.once('finish', () => res.socket?.end());
      }
      if (await settlesBefore(closed, deadline)) return { cut: 0 };
      const cut = inFlight.size;
      server.closeAllConnections();
      await closed;
      return { cut };
    },
  };
}

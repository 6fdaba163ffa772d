// PORT=0: the system picks the port. The socket is bound first, before anything is built from the
// port (PUBLIC_URL, the cluster's node id), and the HTTP server is later handed that very socket,
// so no other process can take the port in between (what "pick a free port, then listen" risks).
import net from 'node:net';

export interface ReservedPort {
  readonly port: number;
  /** The HTTP server listens on the reserved socket (Node's `server.listen(handle)`). */
  handTo: (server: net.Server) => Promise<void>;
  /** Closes the socket if it was never handed over (a start that failed). */
  release: () => Promise<void>;
}

export async function reservePort(host: string): Promise<ReservedPort> {
  // Until the hand-over nobody has been told the port: a connection now is not ours to serve.
  const reserved = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    reserved.once('error', reject);
    reserved.listen(0, host, () => resolve());
  });
  let handedOver = false;
  return {
    port: (reserved.address() as net.AddressInfo).port,
    async handTo(server) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(reserved, () => {
          server.off('error', reject);
          resolve();
        });
      });
      handedOver = true;
    },
    async release() {
      if (handedOver || !reserved.listening) return;
      await new Promise<void>((resolve) => reserved.close(() => resolve()));
    },
  };
}

// The "SFU alone" floor's receiver (bench/floors.ts): binds `count` UDP sockets on loopback, prints
// their ports as one JSON line, reads every datagram and discards it. A separate process so that
// its cost is measured apart from the mediasoup workers, and apart from the service it stands in
// for: what it costs is also the least a Node process pays to receive this traffic at all.
import dgram from 'node:dgram';

const count = Number(process.argv[2] ?? 0);
let packets = 0;
let bytes = 0;
const sockets = await Promise.all(
  Array.from({ length: count }, () => {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (message) => {
      packets++;
      bytes += message.length;
    });
    return new Promise<dgram.Socket>((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
  }),
);
for (const socket of sockets) socket.setRecvBufferSize(4 * 1024 * 1024);
console.log(JSON.stringify({ ports: sockets.map((socket) => socket.address().port) }));
// The parent reads the totals from the last line before the exit.
process.once('SIGTERM', () => {
  console.log(JSON.stringify({ packets, bytes }));
  process.exit(0);
});

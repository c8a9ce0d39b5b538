// A real TCP/UDP peer for the data-plane suites, run inside a namespace with `ip netns exec`:
//   node peer.js tcp-server HOST PORT        echo server; prints {"event":"listening"}
//   node peer.js udp-server HOST PORT        echoes every datagram back to its sender
//   node peer.js udp-sink HOST PORT          prints {"event":"datagram",from,port,bytes} per datagram
//   node peer.js tcp-client HOST PORT BYTES  sends BYTES random bytes, expects them echoed
//   node peer.js tcp-pattern HOST PORT BYTES  the same, bytes a function of their number (i % 251),
//                                            and the end sent once the echo is back (a fixed exchange)
//   node peer.js udp-client HOST PORT COUNT [SRCPORT]  sends COUNT datagrams, expects echoes
//   node peer.js udp-send HOST PORT COUNT SRCPORT GAPMS  sends COUNT datagrams whose bytes depend only
//                                            on their number, GAPMS apart; expects nothing back
// Clients print one JSON line {ok, ...} and exit 0 (ok) or 1; PEER_TIMEOUT_MS bounds their wait.
'use strict';
const crypto = require('node:crypto');
const dgram = require('node:dgram');
const net = require('node:net');

const [mode, host, portText, amountText, sourcePortText] = process.argv.slice(2);
const port = Number(portText);
const amount = Number(amountText ?? 0);
const timeoutMs = Number(process.env.PEER_TIMEOUT_MS ?? 15000);
const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const udpType = net.isIPv6(host) ? 'udp6' : 'udp4';

function finish(result) {
  print(result);
  process.exit(result.ok ? 0 : 1);
}

switch (mode) {
  case 'tcp-server': {
    const server = net.createServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.pipe(socket);
    });
    server.listen({ host, port }, () => print({ event: 'listening' }));
    break;
  }
  case 'udp-server':
  case 'udp-sink': {
    const socket = dgram.createSocket(udpType);
    socket.on('message', (message, from) => {
      if (mode === 'udp-server') socket.send(message, from.port, from.address);
      else print({ event: 'datagram', from: from.address, port: from.port, bytes: message.length });
    });
    socket.bind(port, host, () => print({ event: 'listening' }));
    break;
  }
  case 'tcp-client':
  case 'tcp-pattern': {
    const pattern = mode === 'tcp-pattern';
    const payload = pattern ? Buffer.from(Array.from({ length: amount }, (_, i) => i % 251)) : crypto.randomBytes(amount);
    const chunks = [];
    let received = 0;
    const started = process.hrtime.bigint();
    let ends;
    const socket = net.connect({ host, port }, () => {
      ends = { local: { address: socket.localAddress, port: socket.localPort }, remote: { address: socket.remoteAddress, port: socket.remotePort } };
      if (pattern) socket.write(payload);
      else socket.end(payload);
    });
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout', received }), timeoutMs);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      received += chunk.length;
      if (pattern && received === payload.length) socket.end();
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      finish({ ok: false, error: error.code || error.message, received });
    });
    socket.on('end', () => {
      clearTimeout(timer);
      const echoed = Buffer.concat(chunks);
      finish({
        ok: echoed.equals(payload),
        bytes: echoed.length,
        ...ends,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
    break;
  }
  case 'udp-client': {
    const socket = dgram.createSocket(udpType);
    const sent = new Set();
    let replies = 0;
    const senders = new Set();
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout', replies }), Math.min(timeoutMs, 5000));
    socket.on('message', (message, from) => {
      const text = message.toString();
      if (!sent.has(text)) return;
      sent.delete(text);
      replies++;
      senders.add(`${from.address}:${from.port}`);
      if (replies === amount) {
        clearTimeout(timer);
        finish({ ok: true, replies, from: [...senders] });
      }
    });
    socket.bind(Number(sourcePortText ?? 0), () => {
      for (let i = 0; i < amount; i++) {
        const text = `datagram ${i} ${crypto.randomBytes(8).toString('hex')}`;
        sent.add(text);
        socket.send(text, port, host);
      }
    });
    break;
  }
  case 'udp-send': {
    const gapMs = Number(process.argv[7] ?? 0);
    const socket = dgram.createSocket(udpType);
    socket.bind(Number(sourcePortText), async () => {
      for (let i = 0; i < amount; i++) {
        await new Promise((resolve, reject) => socket.send(`datagram ${String(i).padStart(6, '0')}`, port, host, (e) => (e ? reject(e) : resolve())));
        if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
      finish({ ok: true, sent: amount });
    });
    break;
  }
  default:
    finish({ ok: false, error: `unknown mode ${mode}` });
}

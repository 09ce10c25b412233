/** Benchmark backend (own process): /small 100-byte JSON, /mib 1 MiB, /gib a streamed 1 GiB body. */
import { createServer } from 'node:http';

const small = Buffer.from(JSON.stringify({ ok: true, pad: 'x'.repeat(100 - 23) }));
const block = Buffer.alloc(1024 * 1024, 0x61);

const server = createServer((req, res) => {
  if (req.url === '/small') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': small.length });
    res.end(small);
  } else if (req.url === '/mib') {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': block.length,
    });
    res.end(block);
  } else if (req.url === '/gib') {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': 1024 * block.length,
    });
    let sent = 0;
    const pump = () => {
      while (sent < 1024) {
        sent++;
        if (!res.write(block)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  } else {
    res.writeHead(404).end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));

/**
 * Benchmark backend (own process): /small 100-byte JSON, /mib 1 MiB, /gib a streamed 1 GiB body;
 * /sse a short LLM answer streamed as OpenAI does (40 chunks, then the usage chunk), /sse-gib
 * 1 GiB of such chunks, its usage at the end.
 */
import { createServer, type ServerResponse } from 'node:http';

const small = Buffer.from(JSON.stringify({ ok: true, pad: 'x'.repeat(100 - 23) }));
const block = Buffer.alloc(1024 * 1024, 0x61);

const chunk = (text: string) =>
  `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${text}"}}],"usage":null}\n\n`;
const USAGE =
  'data: {"id":"c","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":40,"total_tokens":52}}\n\ndata: [DONE]\n\n';
const sseSmall = Buffer.from(
  `${Array.from({ length: 40 }, (_, i) => chunk(`tok${i} `)).join('')}${USAGE}`,
);
// 1 MiB of chunks (the last one padded to the size).
const sseBlock = (() => {
  const one = chunk('lorem ipsum dolor sit amet ');
  const text = one.repeat(Math.floor(block.length / one.length));
  const comment = ':'.padEnd(block.length - text.length - 1, ' ');
  return Buffer.from(`${text}${comment}\n`);
})();

function pumpBlocks(res: ServerResponse, piece: Buffer, count: number, end?: Buffer): void {
  let sent = 0;
  const pump = () => {
    while (sent < count) {
      sent++;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    res.end(end);
  };
  pump();
}

const server = createServer((req, res) => {
  if (req.url === '/sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'content-length': sseSmall.length });
    res.end(sseSmall);
    return;
  }
  if (req.url === '/sse-gib') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    pumpBlocks(res, sseBlock, 1024, Buffer.from(USAGE));
    return;
  }
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
    pumpBlocks(res, block, 1024);
  } else {
    res.writeHead(404).end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));

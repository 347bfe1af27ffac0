import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ChannelHttp } from '#core/channels/kit/http.ts';
import { close, listen } from '#sandbox/server.ts';

/** Every channel reads its calls through ChannelHttp.call: what each way of not answering becomes. */
describe('ChannelHttp.call', () => {
  let server: Server;
  let url = '';
  const http = new ChannelHttp();
  const options = { deadlineMs: 300, maxResponseBytes: 1024 };

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok') res.end('<xml></xml>');
      else if (req.url === '/bad-gateway') res.writeHead(502).end('oops');
      else if (req.url === '/large') res.end('x'.repeat(4096));
      else if (req.url === '/slow') setTimeout(() => res.end('late'), 2_000);
    });
    url = await listen(server);
  });
  afterAll(() => close(server));

  it('hands over a 200 body to read', async () => {
    assert.deepEqual(await http.call(`${url}/ok`, '', {}, options), { kind: 'answer', text: '<xml></xml>' });
  });

  it('reads any other status, a deadline, an oversize body and a refused connection as no answer, saying which', async () => {
    assert.deepEqual(await http.call(`${url}/bad-gateway`, '', {}, options), {
      kind: 'none',
      said: 'HTTP_502',
    });
    assert.deepEqual(await http.call(`${url}/slow`, '', {}, options), { kind: 'none', said: 'TIMEOUT' });
    assert.deepEqual(await http.call(`${url}/large`, '', {}, options), { kind: 'none', said: 'TOO_LARGE' });
    const closed = createServer();
    const closedUrl = await listen(closed);
    await close(closed);
    assert.deepEqual(await http.call(`${closedUrl}/`, '', {}, options), {
      kind: 'none',
      said: 'NETWORK_ERROR',
    });
  });
});

/** A file a channel points to (Alipay's bill_download_url) is fetched by GET, its bytes as they came. */
describe('ChannelHttp.fetchFile', () => {
  let server: Server;
  let url = '';
  const http = new ChannelHttp();
  const options = { deadlineMs: 300, maxResponseBytes: 1024 };

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.method !== 'GET') res.writeHead(405).end();
      else if (req.url === '/file?token=t1') res.end(Buffer.from([0x50, 0x4b, 0xff, 0x00]));
      else if (req.url === '/large') res.end(Buffer.alloc(4096));
      else res.writeHead(404).end('expired');
    });
    url = await listen(server);
  });
  afterAll(() => close(server));

  it('GETs the file and hands over its bytes exactly, binary included', async () => {
    const got = await http.fetchFile(`${url}/file?token=t1`, options);
    assert.deepEqual(got, { kind: 'answer', bytes: Buffer.from([0x50, 0x4b, 0xff, 0x00]) });
  });

  it('reads another status or an oversize file as no answer, saying which', async () => {
    assert.deepEqual(await http.fetchFile(`${url}/file?token=old`, options), {
      kind: 'none',
      said: 'HTTP_404',
    });
    assert.deepEqual(await http.fetchFile(`${url}/large`, options), { kind: 'none', said: 'TOO_LARGE' });
  });
});

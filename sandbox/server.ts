import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { ChannelCredentials } from '#core/channels/channel.ts';
import type { SandboxPki } from './certificates.ts';

/** Starts `server` listening; resolves to its base URL (`https://` for a TLS server). */
export async function listen(server: Server | HttpsServer, port = 0, host = '127.0.0.1'): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return `${server instanceof TlsServer ? 'https' : 'http'}://${host}:${address.port}`;
}

/** Stops `server`, dropping open (and hanging) connections. */
export async function close(server: Server | HttpsServer): Promise<void> {
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The server side of a sandbox's TLS: its certificate, and the CA client certificates must chain to (if any). */
export interface SandboxTls {
  readonly cert_pem: string;
  readonly key_pem: string;
  /** Ask every client for a certificate chaining to this CA; the sandbox decides per path what it requires. */
  readonly clientCa?: string;
}

/** A server certificate and its key, PEM (a `SandboxPki`'s `server` fits). */
export type ServerCertificate = Pick<SandboxTls, 'cert_pem' | 'key_pem'>;

/** What a sandbox is made with beside its accounts: its server certificate and time scale. */
export interface SandboxOptions {
  /** MICROPAY_DEADLINE_SCALE: how long "does not answer in time" hangs (60 s × scale). @default 1 */
  readonly timeScale?: number;
  /** The server certificate (a `SandboxPki` from `sandbox/certificates.ts` fits). */
  readonly pki: { readonly server: ServerCertificate };
}

/** One call a sandbox received about an order, and when. */
export interface SandboxCall<Endpoint extends string = string> {
  readonly endpoint: Endpoint;
  readonly at: number;
}

/**
 * What every sandbox channel shares: an HTTPS server with the test PKI's certificate, the register of calls per
 * order (`callsFor`, `callTimes`, and `GET /sandbox/calls/<out_trade_no>`), and "does not answer in time". A
 * sandbox adds its wire protocol in `handle`. Test doubles: nothing under core/, adapters/ or functions/ imports them.
 */
export abstract class SandboxServer<Endpoint extends string> {
  readonly server: HttpsServer;
  /** MICROPAY_DEADLINE_SCALE: "does not answer in time" hangs 60 s × this. */
  protected readonly timeScale: number;
  private readonly endpoints: readonly Endpoint[];
  private readonly calls = new Map<string, SandboxCall<Endpoint>[]>();
  private readonly hanging = new Set<ServerResponse>();
  private readonly path: string;
  private readonly label: string;
  private baseUrl: string | undefined;

  /**
   * @param label what errors call it (`WeChat sandbox`)
   * @param endpoints the calls it counts
   * @param path what its URL ends in (Alipay's `/gateway.do`); '' for a base URL
   */
  protected constructor(
    label: string,
    endpoints: readonly Endpoint[],
    options: { readonly tls: SandboxTls; readonly timeScale?: number; readonly path?: string },
  ) {
    this.label = label;
    this.endpoints = endpoints;
    this.timeScale = options.timeScale ?? 1;
    this.path = options.path ?? '';
    const { cert_pem: cert, key_pem: key, clientCa } = options.tls;
    const clientCertificates = clientCa
      ? { ca: [clientCa], requestCert: true, rejectUnauthorized: false }
      : {};
    this.server = createServer({ cert, key, ...clientCertificates }, (req, res) => {
      this.route(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    this.server.on('close', () => {
      for (const res of this.hanging) res.destroy();
    });
  }

  /** Starts listening; resolves to its URL (the base URL and its path). */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    this.baseUrl = `${await listen(this.server, port, host)}${this.path}`;
    return this.baseUrl;
  }

  /** Its URL; only after `listen`. */
  get url(): string {
    if (!this.baseUrl) throw new Error(`${this.label} is not listening`);
    return this.baseUrl;
  }

  /** Stops listening, dropping open (and hanging) connections. */
  async close(): Promise<void> {
    await close(this.server);
  }

  /** How many calls of each endpoint it received for one `out_trade_no`. */
  callsFor(outTradeNo: string): Record<Endpoint, number> {
    const counts = Object.fromEntries(this.endpoints.map((endpoint) => [endpoint, 0])) as Record<
      Endpoint,
      number
    >;
    for (const call of this.calls.get(outTradeNo) ?? []) counts[call.endpoint] += 1;
    return counts;
  }

  /** Every call received for one `out_trade_no`, in order, with the time it arrived. */
  callTimes(outTradeNo: string): readonly SandboxCall<Endpoint>[] {
    return [...(this.calls.get(outTradeNo) ?? [])];
  }

  /** Answers one request of the channel's wire protocol. */
  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  /** Counts a call about `outTradeNo`. */
  protected record(outTradeNo: string, endpoint: Endpoint): void {
    const calls = this.calls.get(outTradeNo) ?? [];
    calls.push({ endpoint, at: Date.now() });
    this.calls.set(outTradeNo, calls);
  }

  /** "Does not answer in time": hold the request well past any client deadline, then drop it. */
  protected hang(res: ServerResponse): void {
    this.hanging.add(res);
    const timer = setTimeout(() => res.destroy(), Math.max(50, 60_000 * this.timeScale));
    res.on('close', () => {
      clearTimeout(timer);
      this.hanging.delete(res);
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'https://sandbox').pathname;
    if (req.method === 'GET' && pathname.startsWith('/sandbox/calls/')) {
      const outTradeNo = decodeURIComponent(pathname.slice('/sandbox/calls/'.length));
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(this.callsFor(outTradeNo)));
      return;
    }
    await this.handle(req, res);
  }
}

/** Thrown inside a handler to end a call with the channel's refusal: its code and message. */
export class CodedRefusal<Code extends string | number> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string) {
    super(message);
    this.code = code;
  }
}

/** Reads a request's whole body. */
export async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** What a sandbox starter is given. */
export interface SandboxContext {
  /** The deadline scale: a sandbox that "does not answer in time" hangs 60 s × this. */
  readonly deadlineScale: number;
  /** The local stack's test PKI: its CA signs the sandboxes' server certificates (and client certificates). */
  readonly pki: SandboxPki;
  /** Where a sandbox may keep what must survive a restart (key pairs); in memory when absent. */
  readonly dataDir?: string;
}

/** One sandbox channel the local stack runs, and what the gateway needs to use it. */
export interface RunningSandbox {
  /** What `npm start` prints: its name, URL and paths. */
  readonly label: string;
  readonly url: string;
  readonly paths: string;
  /** Credentials made for this run (certificates, key pairs) every sandbox merchant's secret gets for it. */
  readonly credentials: ChannelCredentials;
  /** Calls it received for one of our `out_trade_no`s (our trade_id), by endpoint. */
  callsFor(outTradeNo: string): Readonly<Record<string, number>>;
  /** When each of those calls arrived (epoch ms). */
  callTimes(outTradeNo: string): readonly SandboxCall[];
  /**
   * The `micropay merchant add` flags that onboard a merchant onto this sandbox's account, writing any key file
   * they name into `dir`; undefined when its keys exist only in memory.
   */
  merchantAddFlags(dir: string): string | undefined;
  close(): Promise<void>;
}

/** Starts one sandbox channel. */
export type SandboxStarter = (context: SandboxContext) => Promise<RunningSandbox>;

import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

export interface PostResult {
  readonly status: number;
  readonly body: string;
}

export interface ClientCertificate {
  readonly cert: string;
  readonly key: string;
}

export interface PostOptions {
  /** Give up after this long (rejects with an AbortError). */
  readonly deadlineMs: number;
  /** Refuse an answer body larger than this (rejects with an Error named `ResponseTooLarge`). */
  readonly maxResponseBytes: number;
  /** Client certificate for mutual TLS (WeChat's `/secapi/` endpoints). */
  readonly certificate?: ClientCertificate;
}

/**
 * POSTs to a channel with Node's own client: channels need keep-alive, a deadline, a cap on the answer and
 * client certificates, which it has, and a fetch library would add most of a megabyte to every Lambda
 * bundle. Server certificates are always verified; `extraCaPem` adds a trusted CA to the public ones (local
 * mode trusts its sandbox's test CA this way; production leaves it empty).
 */
export class ChannelHttp {
  private readonly plainAgent = new HttpAgent({ keepAlive: true });
  private readonly tlsAgent: HttpsAgent;
  private readonly certificateAgents = new Map<string, HttpsAgent>();
  private readonly ca: string[] | undefined;

  constructor(extraCaPem?: string) {
    this.ca = extraCaPem ? [...rootCertificates, extraCaPem] : undefined;
    this.tlsAgent = new HttpsAgent({ keepAlive: true, secureContext: this.context() });
  }

  /**
   * TLS settings as one secure context made once. Given as `ca`, `cert` and `key`, they would be copied into
   * the agent's connection-pool key on every request (Node's https.Agent#getName concatenates them: a
   * CA bundle is some 200 KB of string per request).
   */
  private context(certificate?: ClientCertificate): SecureContext | undefined {
    if (!this.ca && !certificate) return undefined;
    return createSecureContext({ ca: this.ca, cert: certificate?.cert, key: certificate?.key });
  }

  post(
    target: string,
    body: string,
    headers: Record<string, string>,
    options: PostOptions,
  ): Promise<PostResult> {
    const url = new URL(target);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          agent: this.agentFor(url, options.certificate),
          signal: AbortSignal.timeout(Math.max(1, options.deadlineMs)),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > options.maxResponseBytes) {
              const error = new Error(`answer larger than ${options.maxResponseBytes} bytes`);
              error.name = 'ResponseTooLarge';
              req.destroy(error);
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** One keep-alive agent per client certificate. */
  private agentFor(url: URL, certificate?: ClientCertificate): HttpAgent | HttpsAgent {
    if (url.protocol === 'http:') return this.plainAgent;
    if (!certificate) return this.tlsAgent;
    let agent = this.certificateAgents.get(certificate.cert);
    if (!agent) {
      agent = new HttpsAgent({ keepAlive: true, secureContext: this.context(certificate) });
      this.certificateAgents.set(certificate.cert, agent);
    }
    return agent;
  }
}

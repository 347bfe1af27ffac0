import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PostResult {
  readonly status: number;
  readonly body: string;
}

export interface ClientCertificate {
  readonly cert: string;
  readonly key: string;
}

const plainAgent = new HttpAgent({ keepAlive: true });
const tlsAgent = new HttpsAgent({ keepAlive: true });
const certificateAgents = new Map<string, HttpsAgent>();

/** One keep-alive agent per client certificate (WeChat's /secapi/ endpoints need the merchant's). */
function agentFor(url: URL, certificate?: ClientCertificate): HttpAgent | HttpsAgent {
  if (url.protocol === 'http:') return plainAgent;
  if (!certificate) return tlsAgent;
  let agent = certificateAgents.get(certificate.cert);
  if (!agent) {
    agent = new HttpsAgent({ keepAlive: true, cert: certificate.cert, key: certificate.key });
    certificateAgents.set(certificate.cert, agent);
  }
  return agent;
}

/**
 * POSTs a body and reads the whole answer, giving up after `deadlineMs` (rejects with an AbortError). Node's own client: channels need keep-alive, a deadline and client certificates,
 * which it has, and a fetch library would add most of a megabyte to every Lambda bundle.
 */
export function post(
  target: string,
  body: string,
  headers: Record<string, string>,
  deadlineMs: number,
  certificate?: ClientCertificate,
): Promise<PostResult> {
  const url = new URL(target);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        agent: agentFor(url, certificate),
        signal: AbortSignal.timeout(Math.max(1, deadlineMs)),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
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

import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

export interface PostResult {
  readonly status: number;
  readonly body: string;
  /** The body's bytes exactly as received (a file: a statement, maybe gzip). */
  readonly bytes: Buffer;
}

/** What came back from one channel call: a body to read, or no answer at all (and why). */
export type CallOutcome =
  | { readonly kind: 'answer'; readonly text: string }
  | { readonly kind: 'none'; readonly said: string };

/** What came back from a download (`ChannelHttp.download`): the body's bytes, or no answer (and why). */
export type DownloadOutcome =
  | { readonly kind: 'answer'; readonly bytes: Buffer }
  | { readonly kind: 'none'; readonly said: string };

/** A call's outcome as an answer to verify, or `unknown` with why (`MALFORMED`: a body that does not parse). */
export type ReadOutcome<T> =
  | { readonly kind: 'answer'; readonly answer: T }
  | { readonly kind: 'unknown'; readonly said: string };

/** Reads a call's body with the channel's parser (undefined when it is not the channel's format). */
export function readOutcome<T>(
  outcome: CallOutcome,
  parse: (text: string) => T | undefined | null,
): ReadOutcome<T> {
  if (outcome.kind === 'none') return { kind: 'unknown', said: outcome.said };
  const answer = parse(outcome.text);
  return answer === undefined || answer === null
    ? { kind: 'unknown', said: 'MALFORMED' }
    : { kind: 'answer', answer };
}

/**
 * A channel's answer reader: `read(outcome, then)` parses a call's body with the channel's parser and hands the
 * answer to `then`; no answer, or one that does not parse, is `unknown` with why, and decides nothing.
 */
export function answerReader<T>(parse: (text: string) => T | undefined | null) {
  return <R>(
    outcome: CallOutcome,
    then: (answer: T) => R,
  ): R | { readonly kind: 'unknown'; readonly said: string } => {
    const got = readOutcome(outcome, parse);
    return got.kind === 'unknown' ? got : then(got.answer);
  };
}

export interface ClientCertificate {
  readonly cert: string;
  readonly key: string;
}

export interface PostOptions {
  /** Give up after this long (rejects with an Error named AbortError). */
  readonly deadlineMs: number;
  /** Refuse an answer body larger than this (rejects with an Error named `ResponseTooLarge`). */
  readonly maxResponseBytes: number;
  /** Client certificate for mutual TLS (WeChat's `/secapi/` endpoints). */
  readonly certificate?: ClientCertificate;
}

/**
 * POSTs to a channel (and GETs the files it points to) with Node's own client: channels need keep-alive, a
 * deadline, a cap on the answer and client certificates, which it has, and a fetch library would add most of a
 * megabyte to every Lambda bundle. Server certificates are always verified; `extraCaPem` adds a trusted CA to the public ones (local
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
    return this.send('POST', target, body, headers, options);
  }

  /** One request: a POST with its body, or a GET (a file a channel points to) with none. */
  private send(
    method: 'POST' | 'GET',
    target: string,
    body: string | undefined,
    headers: Record<string, string>,
    options: PostOptions,
  ): Promise<PostResult> {
    const url = new URL(target);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      // A timer, not AbortSignal.timeout (whose event machinery cost more than the rest of the call); the
      // error is still an AbortError, which the channels read as "no answer in time".
      const timer = setTimeout(
        () => {
          const error = new Error(`no answer within ${options.deadlineMs} ms`);
          error.name = 'AbortError';
          req.destroy(error);
        },
        Math.max(1, options.deadlineMs),
      );
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      const req = send(
        url,
        {
          method,
          headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
          agent: this.agentFor(url, options.certificate),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > options.maxResponseBytes) {
              const error = new Error(`answer larger than ${options.maxResponseBytes} bytes`);
              error.name = 'ResponseTooLarge';
              // Rejected here, before the teardown: the destroyed response may still emit 'end', which must not
              // read as a short answer. The error is the promise's alone: destroyed with it, the call emitted it
              // again where no one listens (an uncaught exception).
              fail(error);
              req.destroy();
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            clearTimeout(timer);
            const bytes = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, body: bytes.toString('utf8'), bytes });
          });
          res.on('error', fail);
        },
      );
      req.on('error', fail);
      req.end(body);
    });
  }

  /**
   * `post` as every channel reads it: a 200 answer's body, or `none` saying why there is no answer to read
   * (`HTTP_<status>`, `TIMEOUT`, `TOO_LARGE`, `NETWORK_ERROR`). Never throws.
   */
  async call(
    target: string,
    body: string,
    headers: Record<string, string>,
    options: PostOptions,
  ): Promise<CallOutcome> {
    try {
      const response = await this.post(target, body, headers, options);
      if (response.status !== 200) return { kind: 'none', said: `HTTP_${response.status}` };
      return { kind: 'answer', text: response.body };
    } catch (error) {
      return noAnswer(error);
    }
  }

  /** `call` for an answer that is a file (a statement, gzip or text): its bytes exactly as received. Never throws. */
  async download(
    target: string,
    body: string,
    headers: Record<string, string>,
    options: PostOptions,
  ): Promise<DownloadOutcome> {
    try {
      const response = await this.post(target, body, headers, options);
      if (response.status !== 200) return { kind: 'none', said: `HTTP_${response.status}` };
      return { kind: 'answer', bytes: response.bytes };
    } catch (error) {
      return noAnswer(error);
    }
  }

  /**
   * GETs a file a channel points to (Alipay's `bill_download_url`, which carries its own short-lived token): the
   * 200 answer's bytes exactly as received, or `none` as `call` says it. Never throws.
   */
  async fetchFile(target: string, options: PostOptions): Promise<DownloadOutcome> {
    try {
      const response = await this.send('GET', target, undefined, {}, options);
      if (response.status !== 200) return { kind: 'none', said: `HTTP_${response.status}` };
      return { kind: 'answer', bytes: response.bytes };
    } catch (error) {
      return noAnswer(error);
    }
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

/** Why a post that threw has no answer: `TIMEOUT`, `TOO_LARGE` or `NETWORK_ERROR`. */
function noAnswer(error: unknown): { readonly kind: 'none'; readonly said: string } {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'none', said: 'TIMEOUT' };
  return { kind: 'none', said: name === 'ResponseTooLarge' ? 'TOO_LARGE' : 'NETWORK_ERROR' };
}

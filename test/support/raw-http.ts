/**
 * HTTP at the byte level, for what fetch and supertest will not send: over-long lines, malformed requests,
 * trickled bodies, pipelined floods. Resolves with everything the server wrote until it closed the connection.
 */
import { connect, type Socket } from 'node:net';

export interface RawExchange {
  text: string;
  /** ms from connecting until the server closed the connection. */
  closedAfterMs: number;
}

export function rawExchange(
  url: string,
  write: (socket: Socket) => void,
  options: { timeoutMs?: number } = {},
): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open past ${options.timeoutMs ?? 10_000} ms; got: ${text}`));
    }, options.timeoutMs ?? 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    socket.on('connect', () => write(socket));
  });
}

export interface RawConnection {
  socket: Socket;
  /** Everything the server wrote so far. */
  received: () => string;
  closed: Promise<void>;
}

/** A raw connection that collects what the server writes, for what fetch will not do (pipelining, destroying). */
export async function openRawConnection(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => text, closed };
}

/** The first response in raw HTTP text: status, lower-cased headers, body parsed as JSON when it is. */
export function firstResponse(text: string): { status: number; headers: Record<string, string>; body: unknown } {
  const [head, ...rest] = text.split('\r\n\r\n');
  const [statusLine, ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(
    headerLines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  const length = Number(headers['content-length'] ?? rest.join('\r\n\r\n').length);
  const raw = rest.join('\r\n\r\n').slice(0, length);
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {
    // not JSON
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

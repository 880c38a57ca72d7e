/**
 * A minimal Chrome DevTools Protocol client for the gateway's inspector (started with --inspect=127.0.0.1:0): a full
 * garbage collection and the heap in use afterwards. RSS alone cannot tell a leak from a heap V8 has not shrunk yet;
 * the heap still in use after a full collection can.
 */
import { WebSocket } from 'undici';

export class SoakInspector {
  private nextId = 1;
  private readonly waiting = new Map<number, (result: unknown) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
      if (message.id !== undefined) this.waiting.get(message.id)?.(message.result);
    });
  }

  static async connect(url: string): Promise<SoakInspector> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve());
      socket.addEventListener('error', () => reject(new Error(`cannot reach the gateway's inspector at ${url}`)));
    });
    return new SoakInspector(socket);
  }

  /** Heap in use (MB) after two full collections (the second one catches what finalisers of the first freed). */
  async heapUsedAfterGcMb(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const result = (await this.call('Runtime.evaluate', {
      expression: 'process.memoryUsage().heapUsed',
      returnByValue: true,
    })) as { result: { value: number } };
    return Math.round(result.result.value / 1024 / 102.4) / 10;
  }

  close(): void {
    this.socket.close();
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, (result) => {
        this.waiting.delete(id);
        resolve(result);
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }
}

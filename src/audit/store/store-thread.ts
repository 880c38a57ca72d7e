import { Worker } from 'node:worker_threads';
import type { StretchResult, StretchVerifier } from '../audit-chain.js';
import {
  deserializeError,
  type StoreThreadOptions,
  type WorkerCall,
  type WorkerReply,
  type WorkerRequest,
} from './audit-worker-protocol.js';

export type StoreThreadCall = { call: WorkerCall; args: unknown[]; purgeBatch?: number };

interface Waiting {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * One thread (audit-store-worker.ts) with an audit store open in it, reached by messages, one per call, answered
 * in the order the thread takes them. Started by open() or, when opened lazily, by the first call; should it die, the
 * calls under way fail and the next call starts a new one; never after close(). It keeps the process alive exactly
 * while a call waits for it, like the synchronous store it wraps.
 */
export class StoreThread {
  /** The thread started last, while it runs (its store may still be opening). */
  private worker: Worker | undefined;
  /** Resolves with that thread once its store is open. */
  private ready: Promise<Worker> | undefined;
  /** Between open() and close(). */
  private wanted = false;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  constructor(private readonly options: StoreThreadOptions) {}

  /** From now on calls are taken; `startNow`: the thread and its store open before this resolves. */
  async open(startNow = true): Promise<void> {
    this.wanted = true;
    if (startNow) await this.started();
  }

  async close(): Promise<void> {
    // Calls already made are answered first: their messages go out before this one, to the same thread.
    this.wanted = false;
    const worker = await this.ready?.catch(() => undefined);
    this.ready = undefined;
    if (!worker) return;
    try {
      await this.send(worker, { call: 'close', args: [] });
    } finally {
      this.worker = undefined;
      await worker.terminate();
    }
  }

  async call(request: StoreThreadCall): Promise<unknown> {
    return this.send(await this.started(), request);
  }

  private started(): Promise<Worker> {
    if (!this.wanted) return Promise.reject(new Error(`the ${this.options.store} audit store is not open`));
    if (!this.ready) {
      const ready = this.start();
      this.ready = ready;
      ready.catch(() => {
        if (this.ready === ready) this.ready = undefined;
      });
    }
    return this.ready;
  }

  private async start(): Promise<Worker> {
    const worker = new Worker(workerScript(), { workerData: this.options });
    this.worker = worker;
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (error) => this.stopped(worker, error));
    worker.on('exit', (code) =>
      this.stopped(worker, new Error(`the ${this.options.store} audit store's thread stopped (exit code ${code})`)),
    );
    try {
      await this.send(worker, { call: 'open', args: [] });
      return worker;
    } catch (error) {
      if (this.worker === worker) this.worker = undefined;
      await worker.terminate();
      throw error;
    }
  }

  private send(worker: Worker, request: StoreThreadCall): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.refresh();
      worker.postMessage({ id, ...request } as WorkerRequest);
    });
  }

  private settle(reply: WorkerReply): void {
    const waiting = this.waiting.get(reply.id);
    if (!waiting) return;
    this.waiting.delete(reply.id);
    if ('error' in reply) waiting.reject(deserializeError(reply.error));
    else waiting.resolve(reply.value);
    this.refresh();
  }

  /** Every call under way on this thread fails; the next call starts a new one (unless the store was closed). */
  private stopped(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.ready = undefined;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const call of waiting) call.reject(error);
  }

  private refresh(): void {
    if (!this.worker) return;
    if (this.waiting.size > 0) this.worker.ref();
    else this.worker.unref();
  }
}

/** Built, the worker is the .js beside this module; run from the TypeScript sources (jest), it is the built one. */
function workerScript(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts')
    ? new URL('../../../dist/audit/store/audit-store-worker.js', here)
    : new URL('./audit-store-worker.js', here);
}

/** A stretch of a verification (verifyChain), walked by the store the thread holds. */
export function stretchOn(thread: StoreThread): StretchVerifier {
  return (afterSeq, upToSeq) =>
    thread.call({ call: 'verifyStretch', args: [afterSeq, upToSeq] }) as Promise<StretchResult>;
}

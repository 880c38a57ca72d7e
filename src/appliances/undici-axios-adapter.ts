import {
  type AxiosAdapter,
  AxiosError,
  AxiosHeaders,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import type { Dispatcher } from 'undici';

declare module 'axios' {
  interface AxiosRequestConfig {
    /** The undici dispatcher (an appliance lane's keep-alive pool) that carries this request. */
    dispatcher?: Dispatcher;
  }
}

/**
 * An axios adapter over undici dispatchers (each appliance lane's keep-alive Pool, named per request).
 * axios stays the client API (instance defaults, typed errors, interceptors); undici is the transport, measured at
 * about twice the throughput of axios's http adapter on this workload (bench/README.md).
 * It never retries: whether a request may be sent again is the caller's decision (runs must not be).
 * Statuses are not judged here: the instance's validateStatus decides, as with any axios adapter.
 *
 * Per request it does only what the call needs: the path is the appliance URL's own path (fixed, `basePath`) and the
 * request's (the pool knows the origin, so nothing is parsed), headers are
 * copied once, and the timeout is undici's own (headers, then body, each within `timeout`), started when the request
 * is written to a connection, so time queued before that never counts as the appliance's.
 */
export function undiciAdapter(basePath = ''): AxiosAdapter {
  return async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    const dispatcher = config.dispatcher;
    if (!dispatcher) {
      throw new AxiosError('no undici dispatcher in the request config', AxiosError.ERR_BAD_OPTION, config);
    }
    const timeout = config.timeout && config.timeout > 0 ? config.timeout : undefined;
    try {
      const response = await dispatcher.request({
        path: `${basePath}${config.url ?? '/'}`,
        method: (config.method ?? 'get').toUpperCase() as Dispatcher.HttpMethod,
        headers: plainHeaders(config.headers),
        body: config.data as string | Buffer | undefined,
        signal: config.signal as AbortSignal | undefined,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      } as Dispatcher.RequestOptions);
      const text = await response.body.text();
      const result: AxiosResponse = {
        data: text,
        status: response.statusCode,
        statusText: '',
        headers: new AxiosHeaders(response.headers as Record<string, string>),
        config,
        request: undefined,
      };
      if (config.validateStatus && !config.validateStatus(response.statusCode)) {
        throw new AxiosError(
          `Request failed with status code ${response.statusCode}`,
          response.statusCode >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST,
          config,
          undefined,
          result,
        );
      }
      return result;
    } catch (error) {
      if (error instanceof AxiosError) throw error;
      const wrapped = new AxiosError((error as Error).message, (error as { code?: string }).code, config);
      wrapped.cause = error as Error;
      throw wrapped;
    }
  };
}

/** The request's headers as undici takes them, in one pass over axios's normalised set. */
function plainHeaders(headers: InternalAxiosRequestConfig['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (value !== undefined && value !== null && value !== false)
      out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

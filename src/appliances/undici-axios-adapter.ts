import { AxiosAdapter, AxiosError, AxiosHeaders, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { Dispatcher } from 'undici';

declare module 'axios' {
  interface AxiosRequestConfig {
    /** The undici dispatcher (an appliance lane's keep-alive pool) that carries this request. */
    dispatcher?: Dispatcher;
  }
}

/**
 * An axios adapter over undici dispatchers (each appliance lane's keep-alive Pool, named per request).
 * axios stays the client API (interceptors, typed errors); undici is the transport, measured at
 * about twice the throughput of axios's http adapter on this workload (bench/README.md).
 * It never retries: whether a request may be sent again is the caller's decision (runs must not be).
 * Statuses are not judged here: the instance's validateStatus decides, as with any axios adapter.
 */
export function undiciAdapter(): AxiosAdapter {
  return async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    const dispatcher = config.dispatcher;
    if (!dispatcher)
      throw new AxiosError('no undici dispatcher in the request config', AxiosError.ERR_BAD_OPTION, config);
    const url = new URL(axiosUri(config));
    const controller = new AbortController();
    const external = config.signal as AbortSignal | undefined;
    const onExternalAbort = () => controller.abort(new AxiosError('canceled', AxiosError.ERR_CANCELED, config));
    external?.addEventListener?.('abort', onExternalAbort, { once: true });
    const timer =
      config.timeout && config.timeout > 0
        ? setTimeout(
            () =>
              controller.abort(new AxiosError(`timeout of ${config.timeout}ms exceeded`, AxiosError.ETIMEDOUT, config)),
            config.timeout,
          )
        : undefined;
    try {
      const response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: (config.method ?? 'get').toUpperCase() as Dispatcher.HttpMethod,
        headers: plainHeaders(config.headers),
        body: config.data as string | Buffer | undefined,
        signal: controller.signal,
      });
      const text = await response.body.text();
      const result: AxiosResponse = {
        data: text,
        status: response.statusCode,
        statusText: '',
        headers: new AxiosHeaders(response.headers as Record<string, string>),
        config,
        request: undefined,
      };
      const valid = config.validateStatus ? config.validateStatus(response.statusCode) : true;
      if (!valid) {
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
      if (controller.signal.aborted && controller.signal.reason instanceof AxiosError) throw controller.signal.reason;
      const code = (error as { code?: string }).code;
      const wrapped = new AxiosError((error as Error).message, code, config);
      wrapped.cause = error as Error;
      throw wrapped;
    } finally {
      if (timer) clearTimeout(timer);
      external?.removeEventListener?.('abort', onExternalAbort);
    }
  };
}

function axiosUri(config: InternalAxiosRequestConfig): string {
  const base = config.baseURL ?? '';
  const path = config.url ?? '';
  return /^https?:\/\//.test(path) ? path : `${base.replace(/\/+$/, '')}${path}`;
}

function plainHeaders(headers: InternalAxiosRequestConfig['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(AxiosHeaders.from(headers).toJSON())) {
    if (value !== undefined && value !== null) out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/**
 * Where a proxy in the pod hands its access logs to the log shipper. Its own module: the proxy
 * sidecars read it, and the shipper's module reads the proxies' container names, so neither has to
 * import the other.
 */

/** The shipper's Forward-protocol input on 127.0.0.1: where Envoy sends its access logs. */
export const PROXY_LOG_PORT = 24224;
/** The shipper's JSON-lines TCP input on 127.0.0.1: where the bundled proxy sends its access logs. */
export const PROXY_JSON_LOG_PORT = 24225;
export const PROXY_LOG_TAG = 'proxy.access';

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../metrics.js';

/**
 * The metrics listener's only route. It listens on 127.0.0.1 (MEND_METRICS_PORT), apart from
 * the public port, because the numbers say how many people use this server and when.
 */
export function serveMetrics(
  metrics: Metrics,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.statusCode = 404;
      res.end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        res.setHeader('Content-Type', metrics.registry.contentType);
        res.setHeader('Cache-Control', 'no-store');
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        res.statusCode = 500;
        res.end();
      },
    );
  };
}

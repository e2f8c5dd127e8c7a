// The load generator's own health: a latency tail is only the server's when the generator was
// not itself late.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export function watchEventLoop() {
  const resolutionMs = 2;
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  return () => {
    histogram.disable();
    // The histogram records whole timer periods; what matters is how late each one fired.
    const ms = (ns) => Number(Math.max(0, ns / 1e6 - resolutionMs).toFixed(2));
    return {
      p50Ms: ms(histogram.percentile(50)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max),
    };
  };
}

/**
 * Runs the real Mend server as a child process, the way an operator would: `node server/dist/main.js`
 * with its configuration in the environment. Shared by the integration, end-to-end, multi-node and
 * benchmark suites, so it knows nothing about any one test.
 *
 * Build first: `pnpm --filter @mend/protocol --filter @mend/model --filter @mend/server build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const defaultEntry = join(repoRoot, 'server/dist/main.js');

/** How a server process ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /**
   * Extra environment, merged over the defaults (PORT=0, HOST=127.0.0.1, a fresh MEND_DATA_DIR,
   * MEND_RATE_LIMIT_PER_MINUTE=0, MEND_MAX_SPACES_PER_DAY=0, MEND_METRICS_PORT=0). A value of
   * `undefined` removes the variable. Tuning limits are lowered with MEND_LIMITS, a JSON object
   * such as `{"headersTimeoutMs":1000}`.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reuse an existing data directory instead of a fresh temporary one. */
  readonly dataDir?: string;
  /** Another entry script, e.g. for a multi-node harness; defaults to server/dist/main.js. */
  readonly entry?: string;
  /** How long start-up may take before the start counts as failed. */
  readonly startTimeoutMs?: number;
}

export interface StopOptions {
  /** After this long without an exit the process is killed and stop() rejects. */
  readonly timeoutMs?: number;
  /** SIGTERM by default; docs/api.md (Signals and shutdown) treats SIGINT the same. */
  readonly signal?: 'SIGTERM' | 'SIGINT';
}

/** A running server and the means to stop, crash and restart it. */
export interface MendServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: also the server's own origin. */
  readonly url: string;
  /** `ws://127.0.0.1:<port>`. */
  readonly wsUrl: string;
  /**
   * `http://127.0.0.1:<metrics port>`, where /metrics is served (the public port answers 404);
   * null if a test removed MEND_METRICS_PORT.
   */
  readonly metricsUrl: string | null;
  readonly dataDir: string;
  readonly pid: number;
  /** Every line the process wrote to stdout and stderr so far (most recent last, bounded). */
  readonly output: readonly string[];
  /** Parsed JSON log lines (pino) from stdout. */
  readonly logs: readonly Record<string, unknown>[];
  /** Settles when the process has exited, for whatever reason. */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM (or the given signal), then wait for the exit. */
  stop(options?: StopOptions): Promise<ExitInfo>;
  /** SIGKILL (a crash: nothing gets to finish), then wait for the exit. */
  kill(): Promise<ExitInfo>;
  /**
   * Stop this process (SIGTERM unless it already exited) and start a new one on the same data
   * directory and, unless `port` says otherwise, the same port, so reconnecting clients find it.
   */
  restart(options?: {
    readonly port?: number;
    readonly env?: StartOptions['env'];
  }): Promise<MendServer>;
  /** Stop if running (SIGKILL after a grace period) and delete the data directory if we made it. */
  dispose(): Promise<void>;
}

const MAX_OUTPUT_LINES = 5_000;
const running = new Set<ChildProcess>();

// A test run that dies half-way must not leave servers holding ports and data directories.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts the server and resolves once it logged that it is listening. */
export async function startServer(options: StartOptions = {}): Promise<MendServer> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'mend-test-')));
  try {
    return await launch({ ...options, dataDir }, ownsDataDir);
  } catch (error) {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** What a server that was expected not to start printed before it exited. */
export interface FailedStart {
  readonly exit: ExitInfo;
  readonly output: string;
}

/**
 * Starts the server with a configuration that must be refused, and resolves with how it exited.
 * Rejects if the server starts listening anyway (after killing it).
 */
export async function startServerExpectingFailure(
  options: StartOptions & { readonly timeoutMs?: number } = {},
): Promise<FailedStart> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'mend-test-')));
  try {
    const child = spawnServer(options.entry ?? defaultEntry, buildEnv(dataDir, options.env));
    const lines: string[] = [];
    const exited = watchExit(child);
    const listening = new Promise<void>((resolveListening) => {
      collectLines(child, lines, (log) => {
        if (isListeningLine(log)) resolveListening();
      });
    });
    const outcome = await withTimeout(
      Promise.race([
        exited.then((exit) => ({ kind: 'exited' as const, exit })),
        listening.then(() => ({ kind: 'listening' as const })),
      ]),
      options.timeoutMs ?? 15_000,
      'the server neither exited nor started listening',
    ).catch(async (error: unknown) => {
      child.kill('SIGKILL');
      await exited;
      throw error;
    });
    if (outcome.kind === 'listening') {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`the server started although it should have refused:\n${tail(lines)}`);
    }
    return { exit: outcome.exit, output: lines.join('\n') };
  } finally {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

async function launch(
  options: StartOptions & { readonly dataDir: string },
  ownsDataDir: boolean,
): Promise<MendServer> {
  const entry = options.entry ?? defaultEntry;
  if (!existsSync(entry)) {
    throw new Error(
      `${entry} does not exist: build the server first ` +
        '(pnpm --filter @mend/protocol --filter @mend/model --filter @mend/server build)',
    );
  }
  const env = buildEnv(options.dataDir, options.env);
  const child = spawnServer(entry, env);
  const output: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const exited = watchExit(child);

  const { port, metricsPort } = await withTimeout(
    new Promise<{ port: number; metricsPort: number | null }>((resolvePort, rejectPort) => {
      collectLines(child, output, (log) => {
        logs.push(log);
        if (logs.length > MAX_OUTPUT_LINES) logs.shift();
        if (isListeningLine(log)) {
          resolvePort({
            port: log.port,
            metricsPort: typeof log.metricsPort === 'number' ? log.metricsPort : null,
          });
        }
      });
      void exited.then((exit) =>
        rejectPort(
          new Error(
            `the server exited before listening (code ${exit.code}, signal ${exit.signal}):\n` +
              tail(output),
          ),
        ),
      );
    }),
    options.startTimeoutMs ?? 20_000,
    'the server did not log "listening"',
  ).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw error instanceof Error ? new Error(`${error.message}\n${tail(output)}`) : error;
  });

  const url = `http://127.0.0.1:${port}`;
  let disposed = false;

  const stop = async (stopOptions: StopOptions = {}): Promise<ExitInfo> => {
    const signal = stopOptions.signal ?? 'SIGTERM';
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timeoutMs = stopOptions.timeoutMs ?? 15_000;
    return withTimeout(
      exited,
      timeoutMs,
      `the server did not exit within ${timeoutMs} ms of ${signal}`,
    ).catch(async (error: unknown) => {
      child.kill('SIGKILL');
      await exited;
      throw error;
    });
  };

  const server: MendServer = {
    port,
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    metricsUrl: metricsPort === null ? null : `http://127.0.0.1:${metricsPort}`,
    dataDir: options.dataDir,
    pid: child.pid ?? -1,
    output,
    logs,
    exited,
    stop,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
    restart: async (restartOptions = {}) => {
      await stop();
      // The data directory now belongs to the new process: disposing this handle must not delete it.
      disposed = true;
      return launch(
        {
          ...options,
          env: { ...options.env, PORT: String(restartOptions.port ?? port), ...restartOptions.env },
        },
        ownsDataDir,
      );
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await stop({ timeoutMs: 10_000 }).catch(() => undefined);
      if (ownsDataDir) await rm(options.dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Our defaults over the inherited environment, minus anything that would configure Mend by accident. */
function buildEnv(dataDir: string, extra: StartOptions['env'] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(MEND_|PORT$|HOST$|DATABASE_URL$|REDIS_URL$)/.test(key)) continue;
    env[key] = value;
  }
  Object.assign(env, {
    PORT: '0',
    HOST: '127.0.0.1',
    MEND_DATA_DIR: dataDir,
    // Suites create many spaces from one address; the rate-limit tests turn the limits back on.
    MEND_RATE_LIMIT_PER_MINUTE: '0',
    MEND_MAX_SPACES_PER_DAY: '0',
    // Metrics live on their own loopback listener; the port is read from the "listening" line.
    MEND_METRICS_PORT: '0',
  });
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function spawnServer(entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [entry], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

function watchExit(child: ChildProcess): Promise<ExitInfo> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolveExit({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    // 'close' rather than 'exit': it also waits for stdout and stderr to end, so `output` is
    // complete once `exited` settles.
    child.once('close', (code, signal) => resolveExit({ code, signal }));
  });
}

/** Splits both output streams into lines; calls `onLog` with each stdout line that is JSON. */
function collectLines(
  child: ChildProcess,
  lines: string[],
  onLog: (log: Record<string, unknown>) => void,
): void {
  const follow = (stream: NodeJS.ReadableStream | null, parseJson: boolean) => {
    if (stream === null) return;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        lines.push(line);
        if (lines.length > MAX_OUTPUT_LINES) lines.shift();
        if (parseJson) {
          const log = parseJsonObject(line);
          if (log !== undefined) onLog(log);
        }
        newline = pending.indexOf('\n');
      }
    });
    stream.on('end', () => {
      if (pending !== '') lines.push(pending);
    });
  };
  follow(child.stdout, true);
  follow(child.stderr, false);
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isListeningLine(
  log: Record<string, unknown>,
): log is Record<string, unknown> & { port: number } {
  return log.msg === 'listening' && typeof log.port === 'number';
}

function tail(lines: readonly string[], count = 40): string {
  return lines.slice(-count).join('\n');
}

/** Rejects with `message` if `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolvePromise, rejectPromise) => {
    const timer = setTimeout(() => rejectPromise(new Error(`${message} (after ${ms} ms)`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolvePromise(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        rejectPromise(error);
      },
    );
  });
}

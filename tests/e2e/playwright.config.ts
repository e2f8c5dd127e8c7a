import { defineConfig, devices } from '@playwright/test';
import { chromiumArgs, chromiumPath } from '../../scripts/chromium.mjs';
import { e2ePort as port } from './env.mjs';

/**
 * Two real browser contexts (the two partners) in Debian's Chromium against the real server.
 * The server and web app must be built first (`pnpm build`; `pnpm test` does it).
 */
export default defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.ts',
  outputDir: 'artifacts/results',
  // Every test drives the same server and two browsers on a small machine: one at a time.
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    ...devices['Desktop Chrome'],
    baseURL: `http://127.0.0.1:${port}`,
    // Recording a trace costs every test about a tenth of its time (the browser is the
    // bottleneck on two cores), and a CI run keeps no files: traces are for runs at a desk.
    trace: process.env.CI ? 'off' : 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: { executablePath: chromiumPath, args: chromiumArgs },
  },
  webServer: {
    command: 'node tests/e2e/server.mjs',
    cwd: '../..',
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: { MEND_E2E_PORT: port },
  },
});

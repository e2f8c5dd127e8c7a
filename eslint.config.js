import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

const noAppOrServer = {
  group: ['@mend/server', '@mend/web', '**/server/**', '**/apps/**'],
  message: 'packages/ are shared by client and server: they never import from apps/ or server/.',
};

// One module composes cryptographic primitives; everything else asks it (docs/protocol.md).
const noPrimitives = {
  group: ['@noble/*'],
  message: 'Only packages/sealed/src/crypto.ts calls @noble/*: use @mend/sealed.',
};
// crypto.ts composes the primitives; cryptoAtRest.ts, WebCrypto only, seals secrets at rest.
const cryptoModules = ['packages/sealed/src/crypto.ts', 'packages/sealed/src/cryptoAtRest.ts'];
// Builds the hostile signatures `vouchFor` must refuse, point by point, with noble's curve.
const hostileSignatures = 'packages/sealed/src/crypto.vouch.test.ts';
const browserSafe = {
  regex: '^(node:.*|crypto|fs|path|buffer|os|stream|util)$',
  message: '@mend/sealed runs in the browser as well as in Node: no Node built-ins.',
};

export default ts.config(
  {
    ignores: [
      '**/node_modules/',
      '**/dist/',
      '**/build/',
      '**/.svelte-kit/',
      'data/',
      'test-results/',
      'playwright-report/',
      'tests/bench/results/',
      'tests/e2e/artifacts/',
    ],
  },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  prettier,
  ...svelte.configs.prettier,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': ['error', { patterns: [noPrimitives] }],
    },
  },
  {
    files: [hostileSignatures],
    rules: { 'no-restricted-imports': ['error', { patterns: [noAppOrServer] }] },
  },
  {
    files: cryptoModules,
    rules: { 'no-restricted-imports': ['error', { patterns: [noAppOrServer, browserSafe] }] },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    // The document model depends on yjs (and lib0) only: no DOM, network, storage or framework.
    // Tests and their support (testing/, left out of the build) may use test libraries.
    files: ['packages/model/src/**/*.ts'],
    ignores: ['packages/model/src/**/*.test.ts', 'packages/model/src/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!yjs$|lib0(/.*)?$|\\.{1,2}/).*',
              message: 'packages/model imports only yjs and lib0.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: ['packages/model/src/**/*.ts', ...cryptoModules, hostileSignatures],
    rules: { 'no-restricted-imports': ['error', { patterns: [noAppOrServer, noPrimitives] }] },
  },
  {
    // The fixed random source of the known-answer tests must not reach production code.
    files: ['packages/sealed/src/**/*.ts'],
    ignores: [
      ...cryptoModules,
      'packages/sealed/src/testkit.ts',
      'packages/sealed/src/**/*.test.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noAppOrServer,
            noPrimitives,
            browserSafe,
            { group: ['./testkit.js'], message: 'testkit.ts is for tests only.' },
          ],
          paths: [
            {
              name: './crypto.js',
              importNames: ['withRandomSource'],
              message: 'A fixed random source is for known-answer tests only.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'crypto',
          property: 'subtle',
          message:
            'Only packages/sealed/src/crypto.ts and cryptoAtRest.ts call WebCrypto primitives.',
        },
      ],
    },
  },
  {
    // Rooms (plaintext and sealed) speak to a tiny socket interface; only the transport adapter
    // knows about `ws`.
    files: ['server/src/sync/**/*.ts', 'server/src/sealed/**/*.ts'],
    ignores: ['server/src/sync/WsTransport.ts', 'server/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'ws', message: 'The room talks to RoomSocket; only WsTransport.ts wraps ws.' },
          ],
          patterns: [noPrimitives],
        },
      ],
    },
  },
  {
    // The HTTP edge reads requests and words answers; a space's life belongs to spaces/, and
    // only spaces/ and MendServer reach into rooms and sockets.
    files: ['server/src/http/**/*.ts'],
    ignores: ['server/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/sync/*'],
              message: 'http/ does not import sync/: go through spaces/ (Spaces) instead.',
            },
            noPrimitives,
          ],
        },
      ],
    },
  },
  {
    // Configuration is read once at the edge (config.ts, from main.ts / admin.ts) and handed down.
    files: ['server/src/**/*.ts'],
    ignores: [
      'server/src/main.ts',
      'server/src/admin.ts',
      'server/src/config.ts',
      'server/src/**/*.test.ts',
    ],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration in config.ts and pass it down.',
        },
      ],
    },
  },
);

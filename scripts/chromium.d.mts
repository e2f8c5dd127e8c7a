// Types of chromium.mjs for the TypeScript that imports it (tests/e2e/playwright.config.ts).
export declare const chromiumPath: string;
export declare const chromiumArgs: string[];
export declare function ensureChromium(log?: (line: string) => void): boolean;

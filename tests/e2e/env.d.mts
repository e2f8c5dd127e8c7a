// Types of env.mjs for support.ts and playwright.config.ts.
export declare const e2ePort: string;
export declare const e2eDir: string;
export declare function sqliteOnly(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;

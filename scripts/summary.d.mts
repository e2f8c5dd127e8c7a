// Types of summary.mjs for the TypeScript that imports it (tests/repo/summary.test.ts).
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}
export interface SummaryInput {
  counts: Counts;
  failedSteps: string[];
  skipReasons: string[];
  ci: boolean;
}
export declare function summary(input: SummaryInput): { lines: string[]; exitCode: 0 | 1 };
export declare function isCi(env: Record<string, string | undefined>): boolean;

import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The page-load benchmark (bench/), apart from the tests: it needs the release build and
// takes minutes. `npx playwright test --config playwright.bench.config.ts`
export default defineConfig({
  ...base,
  testDir: "./bench",
  timeout: 30 * 60_000,
  reporter: [["list"]],
});

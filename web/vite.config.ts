/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// JSX through esbuild's automatic runtime: no Babel, a lean build on small machines.
export default defineConfig({
  esbuild: { jsx: "automatic" },
  server: {
    // `npm run dev` against `./dev serve` on port 8000.
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/storage": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
  // The manifest lets the test suite measure what the first page load downloads.
  build: { target: "es2022", sourcemap: false, manifest: true, chunkSizeWarningLimit: 400 },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    pool: "threads",
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
});

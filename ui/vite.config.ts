import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

// Tauri serves the built files from ui/dist; everything is bundled, nothing is fetched.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  // pdf.js alone is ~400 kB; the bundle is read from disk, not downloaded, so size warnings
  // about network loading do not apply.
  build: { target: "es2022", outDir: "dist", chunkSizeWarningLimit: 2000 },
  test: { include: ["src/**/*.test.ts"] },
});

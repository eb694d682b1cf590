import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The binary embeds dist/ and serves it at /; in development `npm exec vite` proxies the API
// to a server on 127.0.0.1:8080.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, assetsInlineLimit: 0 },
  server: { proxy: { "/api": "http://127.0.0.1:8080", "/chat": "http://127.0.0.1:8080" } },
});

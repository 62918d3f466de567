// Builds the web workspace's static files: first-party assets plus the front-end libraries
// installed from the npm registry (package-lock.json), copied into ./static, which git
// ignores. Nothing is ever loaded from another origin at run time (docs/web.md).
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..", "..");
const out = join(here, "static");
const vendor = [["cytoscape/dist/cytoscape.min.js", "vendor/cytoscape.min.js"]];

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "vendor"), { recursive: true });
for (const [from, to] of vendor) {
  const source = join(root, "node_modules", from);
  if (!existsSync(source)) {
    console.error(`web build: ${from} is missing; run npm ci first`);
    process.exit(2);
  }
  cpSync(source, join(out, to));
}
cpSync(join(here, "assets"), join(out, "app"), { recursive: true });

// A manifest of content hashes lets templates add ?v=<hash> so browsers never run stale code.
const manifest = {};
const walk = (dir, prefix) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) walk(path, name);
    else manifest[name] = createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 12);
  }
};
walk(out, "");
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2));
console.log(`web build: ${Object.keys(manifest).length} files in ${out}`);

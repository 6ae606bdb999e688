// Copy the pinned front-end packages into the Python package's static folder.
//
// Run by `npm run build` after `npm ci`. The server serves these files itself and never
// fetches anything from the internet at run time; manifest.json records what was copied
// (package, version, SHA-256) so an operator can check the files against the lock file.

import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendorDir = join(root, "src", "rongshu", "web", "static", "vendor");

/** Each asset: the npm package it comes from, the file inside it, and its name in vendor/. */
const ASSETS = [
  { pkg: "htmx.org", from: "dist/htmx.min.js", to: "htmx.min.js" },
  { pkg: "echarts", from: "dist/echarts.min.js", to: "echarts.min.js" },
];

function installedVersion(pkg) {
  const meta = JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8"));
  return meta.version;
}

function lockedVersion(pkg) {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
  const entry = lock.packages?.[`node_modules/${pkg}`];
  if (!entry) {
    throw new Error(`${pkg} is not in package-lock.json`);
  }
  return entry.version;
}

function main() {
  mkdirSync(vendorDir, { recursive: true });
  const files = {};
  for (const asset of ASSETS) {
    const version = installedVersion(asset.pkg);
    const locked = lockedVersion(asset.pkg);
    if (version !== locked) {
      throw new Error(
        `${asset.pkg} ${version} is installed but the lock file pins ${locked}: run \`npm ci\``,
      );
    }
    const source = join(root, "node_modules", asset.pkg, asset.from);
    const target = join(vendorDir, asset.to);
    copyFileSync(source, target);
    const body = readFileSync(target);
    files[asset.to] = {
      package: asset.pkg,
      version,
      source: asset.from,
      bytes: body.length,
      sha256: createHash("sha256").update(body).digest("hex"),
    };
    console.log(`vendor/${asset.to}  ${asset.pkg}@${version}  ${body.length} bytes`);
  }
  const manifest = { generated_by: "scripts/build-assets.mjs", files };
  writeFileSync(join(vendorDir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote ${join("src", "rongshu", "web", "static", "vendor", "manifest.json")}`);
}

try {
  main();
} catch (error) {
  console.error(`build-assets: ${error.message}`);
  process.exit(1);
}

// Generates src/schema/pravaha.ts from the repository's schema/pravaha.capnp with capnp-es's
// capnpc-ts plugin (needs the `capnp` compiler: Debian package capnproto).
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const schemaDir = join(root, "..", "..", "schema");
const plugin = join(root, "node_modules", ".bin", "capnpc-ts");
mkdirSync(join(root, "src", "schema"), { recursive: true });
execFileSync("capnp", ["compile", `-o${plugin}:${join(root, "src", "schema")}`, `--src-prefix=${schemaDir}`,
  join(schemaDir, "pravaha.capnp")], { stdio: "inherit", cwd: root });

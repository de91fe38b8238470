// Starts a real pravaha-node for the tests: the binary named by PRAVAHA_NODE, else the one in the
// project's default build directory (build/runtime/pravaha-node).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export function nodeBinary() {
  const bin = process.env.PRAVAHA_NODE ?? resolve(here, "..", "..", "..", "build", "runtime", "pravaha-node");
  if (!existsSync(bin)) {
    throw new Error(`pravaha-node not found at ${bin}: build the project or set PRAVAHA_NODE`);
  }
  return bin;
}

/** A standalone node on 127.0.0.1 with free ports and its own data directory; `extraArgs` are
 *  more of its flags, `prepare(dir)` runs in its directory first (and may answer more flags). */
export async function startNode(prepare = () => []) {
  const dir = mkdtempSync(join(tmpdir(), "pravaha-ts-"));
  const extraArgs = prepare(dir);
  const child = spawn(
    nodeBinary(),
    ["--standalone", "--data-dir", join(dir, "data"), "--bind", "127.0.0.1", "--port", "0", "--rpc-port", "0",
     ...extraArgs],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const rpcPort = await new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start within 20 s:\n${output}`)), 20000);
    const onData = (chunk) => {
      output += chunk.toString();
      const m = /node started .* rpc=127\.0\.0\.1:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code}:\n${output}`));
    });
  });
  return {
    rpcPort,
    address: `127.0.0.1:${rpcPort}`,
    /** What the node logged so far. */
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

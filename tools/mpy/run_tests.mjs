// Runs tests/shared/test_*.py under the real MicroPython 1.27 interpreter
// (the WebAssembly build from npm) on Node.js.
//
// The firmware package, microdot and the shared tests are copied into the
// interpreter's in-memory file system the way they would sit on a board
// (/lib/panel, /lib/microdot), then tools/mpy/runner.py runs every test and
// prints "N passed, N failed". Exit status: 0 only when nothing failed.
//
// Usage: node tools/mpy/run_tests.mjs --microdot DIR [--heap BYTES] [PATTERN...]
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  if (index < 0) return fallback;
  const value = process.argv[index + 1];
  process.argv.splice(index, 2);
  return value;
}

const microdotDir = option("--microdot", null);
const heapBytes = parseInt(option("--heap", String(4 * 1024 * 1024)), 10);
const patterns = process.argv.slice(2);

// Copy a host directory tree of .py files into the interpreter's file system.
function copyTree(mp, from, to) {
  try { mp.FS.mkdir(to); } catch (e) { /* exists */ }
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (entry.name === "__pycache__" || entry.name.startsWith(".")) continue;
    const source = path.join(from, entry.name);
    const target = to + "/" + entry.name;
    if (entry.isDirectory()) copyTree(mp, source, target);
    else if (entry.name.endsWith(".py") || entry.name.endsWith(".json")) {
      mp.FS.writeFile(target, fs.readFileSync(source));
    }
  }
}

let failedExit = 1;
const mp = await loadMicroPython({
  heapsize: heapBytes,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
try { mp.FS.mkdir("/lib"); } catch (e) { /* exists */ }
copyTree(mp, path.join(root, "firmware"), "/lib");
if (microdotDir) copyTree(mp, microdotDir, "/lib/microdot");
copyTree(mp, path.join(root, "tests", "shared"), "/tests");
copyTree(mp, path.join(root, "boards"), "/boards");
mp.FS.writeFile("/runner.py", fs.readFileSync(path.join(here, "runner.py")));
mp.globals.set("test_patterns", patterns.join(","));

try {
  // runPythonAsync allows top-level await: this port's asyncio has no run().
  await mp.runPythonAsync(`
import sys
sys.path.insert(0, "/tests")
sys.path.insert(0, "/")
import runner
failed = await runner.main(test_patterns)
`);
  failedExit = mp.globals.get("failed") ? 1 : 0;
} catch (error) {
  process.stderr.write("runner crashed: " + error.message + "\n");
  failedExit = 2;
}
process.exit(failedExit);

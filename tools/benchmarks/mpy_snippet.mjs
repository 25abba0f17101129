// Runs one Python file under the MicroPython 1.27 WebAssembly interpreter with
// firmware/ copied to /lib (as on a board), for measurements that need the real
// MicroPython heap (gc.mem_alloc()). Used by bench_store.py.
//
// The file may be cut into phases by lines "# ---- phase ----": each phase is
// a separate runPython() call. This port's gc.collect() cannot free what the
// running call still has on its (unscannable) WebAssembly stack, so a heap
// figure is only right when gc.collect() runs in a later phase than the work.
//
// Usage: node tools/benchmarks/mpy_snippet.mjs [--heap BYTES] FILE.py [ARGS...]
import fs from "fs";
import path from "path";
import { createRequire } from "module";
import { fileURLToPath, pathToFileURL } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
// The npm package lives under tools/mpy/node_modules; resolve it from there.
const requireFromMpy = createRequire(path.join(root, "tools", "mpy", "package.json"));
const packageDir = path.dirname(
  requireFromMpy.resolve("@micropython/micropython-webassembly-pyscript/package.json"));
const { loadMicroPython } = await import(
  pathToFileURL(path.join(packageDir, "micropython.mjs")).href);

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  if (index < 0) return fallback;
  const value = process.argv[index + 1];
  process.argv.splice(index, 2);
  return value;
}

const heapBytes = parseInt(option("--heap", String(4 * 1024 * 1024)), 10);
const script = process.argv[2];
const scriptArguments = process.argv.slice(3);

function copyTree(mp, from, to) {
  try { mp.FS.mkdir(to); } catch (e) { /* exists */ }
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (entry.name === "__pycache__" || entry.name.startsWith(".")) continue;
    const source = path.join(from, entry.name);
    const target = to + "/" + entry.name;
    if (entry.isDirectory()) copyTree(mp, source, target);
    else if (entry.name.endsWith(".py")) mp.FS.writeFile(target, fs.readFileSync(source));
  }
}

const mp = await loadMicroPython({
  heapsize: heapBytes,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
try { mp.FS.mkdir("/lib"); } catch (e) { /* exists */ }
copyTree(mp, path.join(root, "firmware"), "/lib");
let status = 0;
try {
  mp.runPython("import sys\nsys.argv[:] = " + JSON.stringify([script, ...scriptArguments]));
  for (const phase of fs.readFileSync(script, "utf8").split(/^# ---- phase ----$/m)) {
    mp.runPython(phase);
  }
} catch (error) {
  process.stderr.write("snippet failed: " + error.message + "\n");
  status = 1;
}
process.exit(status);

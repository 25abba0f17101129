// Runs one Python file under the MicroPython 1.27 WebAssembly interpreter for
// tools/benchmarks/bench_scale.py: firmware/ is copied to /lib (as on a
// board), microdot to /lib/microdot, and each --copy HOST_DIR:MPY_DIR (a store
// directory built on CPython, data files of the baseline) byte for byte into
// the interpreter's file system.
//
// The file is cut into phases by lines "# ---- phase ----"; each phase is a
// separate runPythonAsync() call (top-level `await` allowed: this port's
// asyncio has no run()). This port's gc.collect() cannot free what the
// running call still holds on its WebAssembly stack, so a heap figure is only
// right when gc.collect() runs in a later phase than the work. A phase that
// starts with "# repeat while NAME" is run again while the global NAME is true.
//
// Usage: node tools/benchmarks/scale_mpy.mjs [--heap BYTES] [--microdot DIR]
//            [--copy HOST:MPY]... FILE.py [ARGS...]
import fs from "fs";
import path from "path";
import { createRequire } from "module";
import { fileURLToPath, pathToFileURL } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
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

const heapBytes = parseInt(option("--heap", String(32 * 1024 * 1024)), 10);
const microdotDir = option("--microdot", null);
const copies = [];
for (let copy = option("--copy", null); copy !== null; copy = option("--copy", null)) {
  copies.push(copy);
}
const script = process.argv[2];
const scriptArguments = process.argv.slice(3);

function copyTree(mp, from, to, onlyPython) {
  try { mp.FS.mkdir(to); } catch (e) { /* exists */ }
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (entry.name === "__pycache__" || entry.name.startsWith(".")) continue;
    const source = path.join(from, entry.name);
    const target = to + "/" + entry.name;
    if (entry.isDirectory()) copyTree(mp, source, target, onlyPython);
    else if (!onlyPython || entry.name.endsWith(".py")) {
      mp.FS.writeFile(target, fs.readFileSync(source));
    }
  }
}

const mp = await loadMicroPython({
  heapsize: heapBytes,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
try { mp.FS.mkdir("/lib"); } catch (e) { /* exists */ }
copyTree(mp, path.join(root, "firmware"), "/lib", true);
if (microdotDir) copyTree(mp, microdotDir, "/lib/microdot", true);
for (const copy of copies) {
  const split = copy.lastIndexOf(":");
  copyTree(mp, copy.slice(0, split), copy.slice(split + 1), false);
}
let status = 0;
try {
  mp.runPython("import sys\nsys.argv[:] = " + JSON.stringify([script, ...scriptArguments]));
  for (const phase of fs.readFileSync(script, "utf8").split(/^# ---- phase ----$/m)) {
    // A phase starting with "# repeat while NAME" runs again and again, each
    // time as its own call, while the Python global NAME is true (a loop
    // whose every step is measured after a collection).
    const repeat = phase.match(/^\s*# repeat while (\w+)/);
    do {
      await mp.runPythonAsync(phase);
    } while (repeat && mp.globals.get(repeat[1]));
  }
} catch (error) {
  process.stderr.write("scale_mpy failed: " + error.message + "\n");
  status = 1;
}
process.exit(status);

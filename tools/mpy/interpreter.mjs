// Loading the MicroPython 1.27 WebAssembly interpreter with the firmware laid
// out as on a board (/lib/panel, /lib/microdot): shared by the test runner
// (tools/mpy/run_tests.mjs) and the benchmark runner (tools/benchmarks/mpy_run.mjs).
import fs from "fs";
import path from "path";
import { createRequire } from "module";
import { fileURLToPath, pathToFileURL } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "..", "..");

// The npm package lives under tools/mpy/node_modules; resolve it from there
// whichever script imports this module.
const requireFromMpy = createRequire(path.join(here, "package.json"));
const packageDir = path.dirname(
  requireFromMpy.resolve("@micropython/micropython-webassembly-pyscript/package.json"));
const { loadMicroPython } = await import(
  pathToFileURL(path.join(packageDir, "micropython.mjs")).href);

// Remove `--name value` from process.argv and return value (or fallback).
export function takeOption(name, fallback) {
  const index = process.argv.indexOf(name);
  if (index < 0) return fallback;
  const value = process.argv[index + 1];
  process.argv.splice(index, 2);
  return value;
}

// Copy a host directory tree into the interpreter's file system; with
// `suffixes`, only files whose names end so.
export function copyTree(mp, from, to, suffixes) {
  try { mp.FS.mkdir(to); } catch (e) { /* exists */ }
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (entry.name === "__pycache__" || entry.name.startsWith(".")) continue;
    const source = path.join(from, entry.name);
    const target = to + "/" + entry.name;
    if (entry.isDirectory()) copyTree(mp, source, target, suffixes);
    else if (!suffixes || suffixes.some((suffix) => entry.name.endsWith(suffix))) {
      mp.FS.writeFile(target, fs.readFileSync(source));
    }
  }
}

// The interpreter, printing to this process, with firmware/ at /lib and
// microdot (when given its directory) at /lib/microdot.
export async function loadPanelInterpreter({ heapBytes, microdotDir }) {
  const mp = await loadMicroPython({
    heapsize: heapBytes,
    stdout: (line) => process.stdout.write(line + "\n"),
    stderr: (line) => process.stderr.write(line + "\n"),
  });
  try { mp.FS.mkdir("/lib"); } catch (e) { /* exists */ }
  copyTree(mp, path.join(root, "firmware"), "/lib", [".py", ".json", ".gz"]);
  if (microdotDir) copyTree(mp, microdotDir, "/lib/microdot", [".py"]);
  return mp;
}

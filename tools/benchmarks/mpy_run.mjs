// Runs one Python file under the MicroPython 1.27 WebAssembly interpreter for
// the benchmarks that need the real MicroPython heap (gc.mem_alloc()):
// firmware/ at /lib (as on a board), microdot at /lib/microdot with
// --microdot, and each --copy HOST_DIR:MPY_DIR (a store directory built on
// CPython, baseline data) byte for byte into the interpreter's file system.
//
// The file is cut into phases by lines "# ---- phase ----"; each phase is a
// separate runPythonAsync() call (top-level `await` allowed: this port's
// asyncio has no run()). This port's gc.collect() cannot free what the
// running call still holds on its WebAssembly stack, so a heap figure is only
// right when gc.collect() runs in a later phase than the work. A phase that
// starts with "# repeat while NAME" is run again while the global NAME is true.
//
// Python objects that JavaScript still references (the proxies of earlier
// calls: their code, coroutines, results) are released by a JavaScript
// FinalizationRegistry, i.e. whenever node's own GC happens to run; until
// then they count in gc.mem_alloc(), which made heap figures vary between
// runs by tens of KB. So between phases node's GC is forced and its
// finalizers are let run, and each phase starts from the same heap.
//
// Usage: node tools/benchmarks/mpy_run.mjs [--heap BYTES] [--microdot DIR]
//            [--copy HOST:MPY]... FILE.py [ARGS...]
import fs from "fs";
import v8 from "v8";
import vm from "vm";
import { copyTree, loadPanelInterpreter, takeOption } from "../mpy/interpreter.mjs";

const heapBytes = parseInt(takeOption("--heap", String(32 * 1024 * 1024)), 10);
const microdotDir = takeOption("--microdot", null);
const copies = [];
for (let copy = takeOption("--copy", null); copy !== null; copy = takeOption("--copy", null)) {
  copies.push(copy);
}
const script = process.argv[2];
const scriptArguments = process.argv.slice(3);

v8.setFlagsFromString("--expose-gc");
const collectJavaScript = vm.runInNewContext("gc");

async function releaseProxies() {
  for (let round = 0; round < 3; round++) {
    collectJavaScript();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

const mp = await loadPanelInterpreter({ heapBytes, microdotDir });
for (const copy of copies) {
  const split = copy.lastIndexOf(":");
  copyTree(mp, copy.slice(0, split), copy.slice(split + 1), null);
}
let status = 0;
try {
  mp.runPython("import sys\nsys.argv[:] = " + JSON.stringify([script, ...scriptArguments]));
  for (const phase of fs.readFileSync(script, "utf8").split(/^# ---- phase ----$/m)) {
    const repeat = phase.match(/^\s*# repeat while (\w+)/);
    do {
      await releaseProxies();
      await mp.runPythonAsync(phase);
    } while (repeat && mp.globals.get(repeat[1]));
  }
} catch (error) {
  process.stderr.write("mpy_run failed: " + error.message + "\n");
  status = 1;
}
process.exit(status);

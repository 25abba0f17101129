// Runs tests/shared/test_*.py under the real MicroPython 1.27 interpreter
// (the WebAssembly build from npm) on Node.js.
//
// The firmware package, microdot and the shared tests are copied into the
// interpreter's in-memory file system the way they would sit on a board
// (/lib/panel, /lib/microdot), then tools/mpy/runner.py runs every test and
// prints "N passed, N failed". Exit status: 0 only when nothing failed.
//
// Usage: node tools/mpy/run_tests.mjs --microdot DIR [--heap BYTES] [PATTERN...]
import fs from "fs";
import path from "path";
import { copyTree, loadPanelInterpreter, root, takeOption } from "./interpreter.mjs";

const microdotDir = takeOption("--microdot", null);
const heapBytes = parseInt(takeOption("--heap", String(4 * 1024 * 1024)), 10);
const patterns = process.argv.slice(2);

let failedExit = 1;
const mp = await loadPanelInterpreter({ heapBytes, microdotDir });
copyTree(mp, path.join(root, "tests", "shared"), "/tests", [".py", ".json"]);
copyTree(mp, path.join(root, "boards"), "/boards", [".json"]);
mp.FS.writeFile("/runner.py", fs.readFileSync(path.join(root, "tools", "mpy", "runner.py")));
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

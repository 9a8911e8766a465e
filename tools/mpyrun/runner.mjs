#!/usr/bin/env node
// Run code under the real MicroPython interpreter (the WebAssembly build from npm,
// @micropython/micropython-webassembly-pyscript) with the WildCAM prelude applied.
//
//   node tools/mpyrun/runner.mjs [options] TEST_FILE...      portable tests, one JSON line each
//   node tools/mpyrun/runner.mjs [options] --script FILE|-   run a script (stdin with -)
//
// Options:
//   --lib HOST_DIR[:VFS_DIR]  copy a directory tree into the VFS (VFS_DIR defaults to /lib)
//   --file HOST_FILE:VFS_PATH copy one file into the VFS
//   --path VFS_DIR            put VFS_DIR first on sys.path
//   --cwd VFS_DIR             chdir there before running
//   --heapsize N[k|m]         initial MicroPython GC heap (default 1m; it grows on demand)
//   --heap-limit              make --heapsize a hard cap: no growth after start (MemoryError)
//   --pystack WORDS           Python stack size in words (default 2048)
//   --timeout SECONDS         per async test: give up waiting (default 30)
//   --no-prelude              do not apply the errno / asyncio.run shims (to show the raw build)
//
// Test mode: every test file's folder is copied (its *.py files) to /tests, which goes on
// sys.path; each module is imported and its test_* callables run in sorted order, one
// top-level interpreter call each (so the GC, which only collects between top-level calls
// in this build, runs between tests). A test returning a coroutine is awaited. Output:
// one JSON line per test {"module","name","ok","error","ms","out"} on stdout; an import
// failure gives one line with "name": null. Exit 1 if any failed, 0 otherwise.
// Script mode: stdout/stderr relayed; SystemExit(n) exits n; an uncaught exception prints
// its traceback on stderr and exits 1. Top-level `await` is allowed in scripts.
// Exit 2: bad usage; exit 3: the npm package is missing.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PKG = "@micropython/micropython-webassembly-pyscript";

function usage(msg) {
  process.stderr.write(`mpyrun: ${msg}\n(see the header of tools/mpyrun/runner.mjs)\n`);
  process.exit(2);
}

function parseSize(s) {
  const m = /^(\d+)([kKmM]?)$/.exec(s || "");
  if (!m) usage(`bad size: ${s}`);
  return parseInt(m[1], 10) * ({ k: 1024, m: 1048576 }[m[2].toLowerCase()] || 1);
}

const opts = { libs: [], files: [], paths: [], tests: [], heapsize: 1048576, heapLimit: false,
  pystack: 2048, timeout: 30, prelude: true, script: null, cwd: null };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const arg = a[i];
    const next = () => { if (i + 1 >= a.length) usage(`${arg} needs a value`); return a[++i]; };
    if (arg === "--lib") {
      const v = next(); const j = v.lastIndexOf(":");
      opts.libs.push(j > 0 ? [v.slice(0, j), v.slice(j + 1)] : [v, "/lib"]);
    } else if (arg === "--file") {
      const v = next(); const j = v.lastIndexOf(":");
      if (j <= 0) usage(`--file wants HOST:VFS, got ${v}`);
      opts.files.push([v.slice(0, j), v.slice(j + 1)]);
    } else if (arg === "--path") opts.paths.push(next());
    else if (arg === "--cwd") opts.cwd = next();
    else if (arg === "--heapsize") opts.heapsize = parseSize(next());
    else if (arg === "--heap-limit") opts.heapLimit = true;
    else if (arg === "--pystack") opts.pystack = parseInt(next(), 10);
    else if (arg === "--timeout") opts.timeout = parseFloat(next());
    else if (arg === "--no-prelude") opts.prelude = false;
    else if (arg === "--script") opts.script = next();
    else if (arg.startsWith("--")) usage(`unknown option ${arg}`);
    else opts.tests.push(arg);
  }
  if (opts.script === null && opts.tests.length === 0) usage("give test files or --script");
  if (opts.script !== null && opts.tests.length) usage("--script and test files exclude each other");
  if (!opts.prelude && opts.tests.length) usage("--no-prelude is only for --script");
}

// --- hard heap limit ------------------------------------------------------------------------
// The GC heap grows by malloc'ing new areas from the wasm memory (16 MB at start, growing
// on demand). For a hard cap: refuse wasm memory growth after start, then occupy what is
// left of the C heap except a small reserve for the JS glue's own mallocs. MicroPython's
// next heap area would be at least as big as the current heap (it doubles), which is larger
// than the reserve, so the GC heap stays at --heapsize.
let memoryFrozen = false;
if (opts.heapLimit) {
  const grow = WebAssembly.Memory.prototype.grow;
  WebAssembly.Memory.prototype.grow = function (pages) {
    if (memoryFrozen) throw new RangeError("mpyrun --heap-limit");
    return grow.call(this, pages);
  };
  const error = console.error;
  console.error = (...args) => {  // emscripten reports each refused growth; keep stderr clean
    const s = String(args[0] ?? "");
    if (s.startsWith("growMemory:") || s.startsWith("Failed to grow the heap")) return;
    error(...args);
  };
}

let loadMicroPython;
try {
  ({ loadMicroPython } = await import(PKG));
} catch (e) {
  process.stderr.write(
    `mpyrun: cannot load the npm package ${PKG} (${e.code || e.message}).\n` +
    `Install it: run scripts/setup.sh (or \`npm ci\` in the repository root).\n`);
  process.exit(3);
}

let sink = null;  // where interpreter output goes: null = relay to the process streams
const outLine = (s) => { if (sink) sink.push(s); else process.stdout.write(s + "\n"); };
const errLine = (s) => { if (sink) sink.push(s); else process.stderr.write(s + "\n"); };

const mp = await loadMicroPython({ stdout: outLine, stderr: errLine, linebuffer: true,
  heapsize: opts.heapsize, pystack: opts.pystack });

if (opts.heapLimit) {
  memoryFrozen = true;
  const M = mp._module;
  const reserve = M._malloc(Math.min(64 * 1024, opts.heapsize >> 1));
  for (let size = 1 << 24; size >= 16;) {
    if (!M._malloc(size)) size >>= 1;
  }
  M._free(reserve);
}

// --- filesystem ---------------------------------------------------------------------------
const FS = mp.FS;
function copyFile(host, vfs) {
  FS.mkdirTree(path.posix.dirname(vfs));
  FS.writeFile(vfs, new Uint8Array(fs.readFileSync(host)));
}
function copyTree(host, vfs) {
  FS.mkdirTree(vfs);
  for (const ent of fs.readdirSync(host, { withFileTypes: true })) {
    if (ent.name.startsWith(".") || ent.name === "__pycache__" || ent.name.endsWith(".pyc")) continue;
    const h = path.join(host, ent.name), v = path.posix.join(vfs, ent.name);
    if (ent.isDirectory()) copyTree(h, v);
    else if (ent.isFile()) copyFile(h, v);
  }
}
try {
  for (const [h, v] of opts.libs) copyTree(h, v);
  for (const [h, v] of opts.files) copyFile(h, v);
} catch (e) {
  usage(`copying into the VFS failed: ${e.message}`);
}

const modules = [];
if (opts.tests.length) {
  const dirs = new Set();
  for (const t of opts.tests) {
    if (!fs.existsSync(t)) usage(`no such test file: ${t}`);
    dirs.add(path.dirname(path.resolve(t)));
    modules.push(path.basename(t).replace(/\.py$/, ""));
  }
  for (const d of dirs) {
    for (const name of fs.readdirSync(d)) {
      if (name.endsWith(".py")) copyFile(path.join(d, name), `/tests/${name}`);
    }
  }
  opts.paths.push("/tests");
}

// --- prelude --------------------------------------------------------------------------------
let hostState = { status: null, error: "", names: [] };
mp.registerJsModule("_mpyhost", {
  result: (status, error) => { hostState.status = status; hostState.error = error; },
  names: (s) => { hostState.names = s ? s.split("\n") : []; },
});
copyFile(path.join(HERE, "_mpyrun.py"), "/mpyrun/_mpyrun.py");
const setup = [
  "import sys",
  ...opts.paths.slice().reverse().map((p) => `sys.path.insert(1, ${JSON.stringify(p)})`),
  opts.prelude
    ? "sys.path.append('/mpyrun')\nimport _mpyrun\nsys.path.remove('/mpyrun')" : "",
  opts.cwd ? `import os\nos.chdir(${JSON.stringify(opts.cwd)})` : "",
].join("\n");
try {
  mp.runPython(setup);
} catch (e) {
  process.stderr.write(`mpyrun: prelude failed:\n${e.message}\n`);
  process.exit(2);
}

// --- script mode ----------------------------------------------------------------------------
if (opts.script !== null) {
  const code = opts.script === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(opts.script, "utf8");
  try {
    await mp.runPythonAsync(code);
    process.exitCode = 0;
  } catch (e) {
    if (e.name !== "PythonError") throw e;
    if (e.type === "SystemExit") {
      const last = e.message.trim().split("\n").pop();
      const m = /^SystemExit:\s*(.*)$/.exec(last);
      const arg = m ? m[1].trim() : "";
      if (arg === "" || arg === "None") process.exitCode = 0;
      else if (/^-?\d+$/.test(arg)) process.exitCode = parseInt(arg, 10) & 255;
      else { process.stderr.write(arg + "\n"); process.exitCode = 1; }
    } else {
      process.stderr.write(e.message.endsWith("\n") ? e.message : e.message + "\n");
      process.exitCode = 1;
    }
  }
} else {
  // --- test mode ------------------------------------------------------------------------------
  let failed = 0;
  const emit = (rec) => { process.stdout.write(JSON.stringify(rec) + "\n"); if (!rec.ok) failed++; };
  const maxOut = 20000;
  const joinOut = (lines) => { const s = lines.join("\n"); return s.length > maxOut ? s.slice(0, maxOut) + "\n[... cut]" : s; };
  for (const mod of modules) {
    const t0 = performance.now();
    sink = [];
    try {
      mp.runPython(`_mpyrun.test_names(${JSON.stringify(mod)})`);
    } catch (e) {
      emit({ module: mod, name: null, ok: false, error: e.message || String(e),
        ms: Math.round(performance.now() - t0), out: joinOut(sink) });
      continue;
    }
    for (const name of hostState.names) {
      sink = [];
      hostState.status = null; hostState.error = "";
      const t1 = performance.now();
      let ok = false, error = "";
      try {
        mp.runPython(`_mpyrun.start(${JSON.stringify(mod)}, ${JSON.stringify(name)})`);
        if (hostState.status === "async") {
          hostState.status = null;
          let timer;
          const timeout = new Promise((resolve) => {
            timer = setTimeout(() => resolve("timeout"), opts.timeout * 1000);
          });
          const r = await Promise.race([mp.runPythonAsync("await _mpyrun.finish()"), timeout]);
          clearTimeout(timer);
          if (r === "timeout") {
            hostState.status = "fail";
            hostState.error = `async test still running after ${opts.timeout}s (deadlock?)`;
          }
        }
        ok = hostState.status === "ok";
        error = ok ? "" : (hostState.error || `test did not report (status ${hostState.status})`);
      } catch (e) {
        error = e.message || String(e);
      }
      emit({ module: mod, name, ok, error, ms: Math.round((performance.now() - t1) * 10) / 10, out: joinOut(sink) });
    }
  }
  sink = null;
  process.exitCode = failed ? 1 : 0;
}
// Tasks a test or script left sleeping would keep node's event loop alive: stop here.
process.exit(process.exitCode);

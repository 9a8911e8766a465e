#!/usr/bin/env node
// The virtual board's interpreter: the real MicroPython (wasm build from npm) behind its
// event-driven REPL, speaking on stdin/stdout the bytes a board speaks on its UART.
// tools/vboard.py puts a pseudo-terminal in front of it so mpremote can connect.
//
//   node tools/vboard.mjs [--heapsize N] [--run-main] [--load HOST:VFS]...
//
// What it adds to the bare REPL (see docs/HOST_TOOLS.md):
// - raw-paste requests (\x05 A \x01) are answered "R\x00" (not supported): mpremote then
//   uses the plain raw REPL (the wasm REPL hangs on raw-paste otherwise);
// - the gate's prelude (tools/mpyrun/_mpyrun.py): Emscripten errno numbers mapped back to
//   MicroPython's (mpremote's fs commands depend on ENOENT/EEXIST), blocking asyncio.run;
// - soft reset (Ctrl-D in the REPL, SystemExit): a fresh interpreter with the filesystem
//   carried over, "MPY: soft reboot", /boot.py run, back in the REPL mode it was in;
// - a tiny `machine` module: reset() (a hard reset: also runs /main.py with --run-main),
//   soft_reset(), unique_id(), freq(). Nothing else of the ESP32 exists here.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PKG = "@micropython/micropython-webassembly-pyscript";
const opts = { heapsize: 4 * 1048576, runMain: false, loads: [] };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--heapsize") opts.heapsize = parseInt(process.argv[++i], 10);
  else if (a === "--run-main") opts.runMain = true;
  else if (a === "--load") opts.loads.push(process.argv[++i]);
  else { process.stderr.write(`vboard: unknown option ${a}\n`); process.exit(2); }
}

let loadMicroPython;
try {
  ({ loadMicroPython } = await import(PKG));
} catch (e) {
  process.stderr.write(`vboard: cannot load ${PKG}: run scripts/setup.sh (npm ci)\n`);
  process.exit(3);
}

const out = (b) => process.stdout.write(typeof b === "string" ? Buffer.from(b) : Buffer.from(b));
const SKIP = new Set(["/dev", "/proc", "/tmp", "/home", "/vboard", "/mpyrun"]);

function snapshot(FS, dir = "/", acc = []) {
  for (const name of FS.readdir(dir)) {
    if (name === "." || name === "..") continue;
    const p = dir === "/" ? `/${name}` : `${dir}/${name}`;
    if (SKIP.has(p)) continue;
    const st = FS.stat(p);
    if (FS.isDir(st.mode)) { acc.push([p, null]); snapshot(FS, p, acc); }
    else if (FS.isFile(st.mode)) acc.push([p, FS.readFile(p)]);
  }
  return acc;
}

const MACHINE = `
import _vboard
def reset():
    _vboard.reset(1)
    raise SystemExit
def soft_reset():
    _vboard.reset(0)
    raise SystemExit
def unique_id():
    return b'\\x24\\x0a\\xc4\\x00\\x00\\x01'
def freq(*a):
    return 240000000
def reset_cause():
    return 1
PWRON_RESET = 1
HARD_RESET = 2
SOFT_RESET = 5
`;

// os.ilistdir gives size 0 here; a board gives the file size (mpremote's fs ls shows it)
const PRELUDE = `
import os
_ild = os.ilistdir
def _ilistdir(d='.'):
    for e in _ild(d):
        if e[1] & 0x4000:
            yield e
        else:
            try:
                yield (e[0], e[1], e[2], os.stat((d.rstrip('/') or '') + '/' + e[0])[6])
            except OSError:
                yield e
os.ilistdir = _ilistdir
del _ilistdir
`;

let mp = null;
let raw = false;        // REPL mode as last switched by Ctrl-A / Ctrl-B
let hardPending = false;

async function boot(files, hard) {
  mp = await loadMicroPython({ stdout: out, stderr: out, linebuffer: false,
    heapsize: opts.heapsize });
  const FS = mp.FS;
  for (const [p, data] of files) {
    if (data === null) FS.mkdirTree(p); else FS.writeFile(p, data);
  }
  mp.registerJsModule("_mpyhost", { result: () => {}, names: () => {} });
  mp.registerJsModule("_vboard", { reset: (h) => { hardPending = !!h; } });
  FS.mkdirTree("/mpyrun");
  FS.writeFile("/mpyrun/_mpyrun.py", fs.readFileSync(path.join(HERE, "mpyrun", "_mpyrun.py")));
  FS.mkdirTree("/vboard");
  FS.writeFile("/vboard/machine.py", MACHINE);
  mp.runPython("import sys\nsys.path.append('/mpyrun')\nimport _mpyrun\nsys.path.remove('/mpyrun')\n" +
    "sys.path.append('/vboard')\n" + PRELUDE);
  const run = (file) => {
    if (!FS.analyzePath(file).exists) return;
    try { mp.runPython(`exec(open(${JSON.stringify(file)}).read(), {'__name__': '__main__'})`); }
    catch (e) { out(String(e.message || e).replace(/\n/g, "\r\n")); }
  };
  run("/boot.py");
  if (hard && opts.runMain) run("/main.py");
  // A machine.reset() made by boot.py or main.py (an app's last resort after a crash) is
  // dropped: a board would reboot into the same loop until Ctrl-C interrupts main.py, and
  // this interpreter cannot be interrupted while it runs a script. Left pending, it would
  // turn the next soft reset (the Ctrl-D every ampy/mpremote session starts with) into a
  // hard one that leaves the raw REPL.
  hardPending = false;
  mp.replInit();
  if (raw) await mp.replProcessCharWithAsyncify(1);
}

async function softReset(hard) {
  const files = snapshot(mp.FS);
  if (hard) raw = false;
  out("MPY: soft reboot\r\n");
  await boot(files, hard);
}

for (const spec of opts.loads) {
  const j = spec.lastIndexOf(":");
  const host = spec.slice(0, j), vfs = spec.slice(j + 1);
  // applied on first boot via the snapshot format
  const acc = [];
  const walk = (h, v) => {
    if (fs.statSync(h).isDirectory()) {
      acc.push([v, null]);
      for (const n of fs.readdirSync(h)) if (n !== "__pycache__") walk(path.join(h, n), `${v}/${n}`);
    } else acc.push([v, new Uint8Array(fs.readFileSync(h))]);
  };
  walk(host, vfs);
  opts.preload = (opts.preload || []).concat(acc);
}
await boot(opts.preload || [], true);

// Input: one byte at a time, in order (a promise chain), with the raw-paste handshake.
let chain = Promise.resolve();
let pending = [];       // bytes of a possible \x05 A \x01 sequence
async function feed(c) {
  if (pending.length || (c === 5 && raw)) {
    pending.push(c);
    const want = [5, 65, 1];
    if (pending.every((b, k) => b === want[k])) {
      if (pending.length < 3) return;
      pending = [];
      out(Buffer.from([82, 0]));  // "R\x00": raw-paste not supported
      return;
    }
    const bytes = pending; pending = [];
    for (const b of bytes) await step(b);
    return;
  }
  await step(c);
}
async function step(c) {
  if (c === 1) raw = true; else if (c === 2) raw = false;
  const r = await mp.replProcessCharWithAsyncify(c);
  if (r) {
    const hard = hardPending; hardPending = false;
    await softReset(hard);
  }
}
process.stdin.on("data", (data) => {
  for (const c of data) chain = chain.then(() => feed(c));
});
process.stdin.on("end", () => chain.then(() => process.exit(0)));

#!/usr/bin/env node
// The virtual board's interpreter: the real MicroPython (wasm build from npm) behind its
// event-driven REPL, speaking on stdin/stdout the bytes a board speaks on its UART.
// tools/vboard.py puts a pseudo-terminal in front of it so mpremote can connect.
//
//   node tools/vboard.mjs [--heapsize N] [--run-main] [--load HOST:VFS]... [--frames DIR]
//
// What it adds to the bare REPL (see docs/HOST_TOOLS.md):
// - raw-paste requests (\x05 A \x01) are answered "R\x00" (not supported): mpremote then
//   uses the plain raw REPL (the wasm REPL hangs on raw-paste otherwise);
// - the gate's prelude (tools/mpyrun/_mpyrun.py): Emscripten errno numbers mapped back to
//   MicroPython's (mpremote's fs commands depend on ENOENT/EEXIST), blocking asyncio.run;
// - soft reset (Ctrl-D in the REPL, SystemExit): a fresh interpreter with the filesystem
//   carried over, "MPY: soft reboot", /boot.py run, back in the REPL mode it was in;
// - the board modules of tools/vboard_modules (machine, esp32, camera: an ESP32-CAM with
//   the AI_THINKER camera image and 4 MB PSRAM, nothing wired to its pins; see their
//   docstrings and docs/FIDELITY.md), with the state that outlives an interpreter kept here:
//   reset cause, RTC time and memory, committed NVS, the watchdog (it resets the board when
//   not fed, WDT_RESET), deep sleep (the board comes back after the time, DEEPSLEEP_RESET);
//   camera frames (JPEGs per frame size) from --frames DIR into /vboard/frames;
// - /sd exists from the first boot: a mounted SD card (a plain folder of this VFS).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PKG = "@micropython/micropython-webassembly-pyscript";
const opts = { heapsize: 4 * 1048576, runMain: false, loads: [], frames: null };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--heapsize") opts.heapsize = parseInt(process.argv[++i], 10);
  else if (a === "--run-main") opts.runMain = true;
  else if (a === "--load") opts.loads.push(process.argv[++i]);
  else if (a === "--frames") opts.frames = process.argv[++i];
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

const MODULES = path.join(HERE, "vboard_modules");
const PWRON_RESET = 1, HARD_RESET = 2, WDT_RESET = 3, DEEPSLEEP_RESET = 4, SOFT_RESET = 5;

// What outlives one interpreter (a board keeps it in RTC memory, NVS, the reset reason).
const board = { cause: PWRON_RESET, kv: new Map(), rtc: { ms: 0, at: Date.now() },
  wdtMs: 0, wdtTimer: null, sleeping: false };
function wdtStop() { if (board.wdtTimer) clearTimeout(board.wdtTimer); board.wdtTimer = null; board.wdtMs = 0; }
function wdtArm() {
  if (board.wdtTimer) clearTimeout(board.wdtTimer);
  board.wdtTimer = setTimeout(() => {
    board.wdtTimer = null;
    out(`\r\n[vboard] watchdog not fed for ${board.wdtMs} ms: reset\r\n`);
    chain = chain.then(() => softReset(true, WDT_RESET));
  }, board.wdtMs);
}
const VBOARD = {
  reset: (cause, ms) => { pendingReset = { cause, ms: ms || 0 }; },
  cause: () => board.cause,
  // RTC as seconds since 2000-01-01 and the ms within the second (numbers below 2**31)
  rtc_s: () => Math.floor((board.rtc.ms + (Date.now() - board.rtc.at)) / 1000),
  rtc_sub_ms: () => (board.rtc.ms + (Date.now() - board.rtc.at)) % 1000,
  rtc_set: (s, ms) => { board.rtc = { ms: Number(s) * 1000 + Number(ms), at: Date.now() }; },
  kv_get: (k) => (board.kv.has(k) ? board.kv.get(k) : null),
  kv_set: (k, v) => { if (v === null || v === undefined) board.kv.delete(k); else board.kv.set(k, v); },
  wdt: (ms) => { board.wdtMs = ms; wdtArm(); },
  feed: () => { if (board.wdtMs) wdtArm(); },
};

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
let pendingReset = null; // {cause, ms} asked by machine.reset()/soft_reset()/deepsleep()
let chain = Promise.resolve();

async function boot(files, hard) {
  mp = await loadMicroPython({ stdout: out, stderr: out, linebuffer: false,
    heapsize: opts.heapsize });
  const FS = mp.FS;
  for (const [p, data] of files) {
    if (data === null) FS.mkdirTree(p); else FS.writeFile(p, data);
  }
  mp.registerJsModule("_mpyhost", { result: () => {}, names: () => {} });
  mp.registerJsModule("_vboard", VBOARD);
  FS.mkdirTree("/mpyrun");
  FS.writeFile("/mpyrun/_mpyrun.py", fs.readFileSync(path.join(HERE, "mpyrun", "_mpyrun.py")));
  FS.mkdirTree("/vboard");
  for (const name of fs.readdirSync(MODULES)) {
    if (name.endsWith(".py")) FS.writeFile(`/vboard/${name}`, fs.readFileSync(path.join(MODULES, name)));
  }
  FS.mkdirTree("/vboard/frames");
  if (opts.frames) {
    for (const name of fs.readdirSync(opts.frames)) {
      FS.writeFile(`/vboard/frames/${name}`, new Uint8Array(fs.readFileSync(path.join(opts.frames, name))));
    }
  }
  FS.mkdirTree("/sd");
  mp.runPython("import sys\nsys.path.append('/mpyrun')\nimport _mpyrun\nsys.path.remove('/mpyrun')\n" +
    "sys.path.append('/vboard')\n" + PRELUDE);
  const run = (file) => {
    if (!FS.analyzePath(file).exists) return;
    try { mp.runPython(`exec(open(${JSON.stringify(file)}).read(), {'__name__': '__main__'})`); }
    catch (e) { out(String(e.message || e).replace(/\n/g, "\r\n")); }
  };
  run("/boot.py");
  if (hard && opts.runMain) run("/main.py");
  // A machine.reset() or deepsleep() made by boot.py or main.py (an app's last resort) is
  // dropped: a board would reboot into the same loop until Ctrl-C interrupts main.py, and
  // this interpreter cannot be interrupted while it runs a script. Left pending, it would
  // turn the next soft reset (the Ctrl-D every ampy/mpremote session starts with) into a
  // hard one that leaves the raw REPL.
  pendingReset = null;
  mp.replInit();
  if (raw) await mp.replProcessCharWithAsyncify(1);
}

async function softReset(hard, cause) {
  const files = snapshot(mp.FS);
  wdtStop();  // a reset stops the watchdog until the firmware starts it again
  board.cause = cause;
  if (hard) raw = false;
  out(hard ? "\r\nets: reset\r\n" : "MPY: soft reboot\r\n");
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
  if (board.sleeping) return;  // deep sleep: the UART is off
  if (c === 1) raw = true; else if (c === 2) raw = false;
  const r = await mp.replProcessCharWithAsyncify(c);
  if (r) {
    const p = pendingReset || { cause: SOFT_RESET, ms: 0 };
    pendingReset = null;
    if (p.cause === DEEPSLEEP_RESET && p.ms > 0) {
      board.sleeping = true;
      wdtStop();
      await new Promise((res) => setTimeout(res, p.ms));
      board.sleeping = false;
    }
    await softReset(p.cause !== SOFT_RESET, p.cause);
  }
}
process.stdin.on("data", (data) => {
  for (const c of data) chain = chain.then(() => feed(c));
});
process.stdin.on("end", () => chain.then(() => process.exit(0)));

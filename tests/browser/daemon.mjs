// The real provisiond on fake hardware, for the browser tests: a temporary
// database, a fixed loopback port (so the page keeps its origin across a
// restart), the admin token written by --init, and a small API client.
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Short lifecycle and BMC settings so fake machines move within seconds and
// a dead BMC fails (and opens its circuit breaker) quickly.
const INI = `[boot]
images_dir = %IMAGES%
[lifecycle]
workers = 4
backoff_base_ms = 50
backoff_max_ms = 200
max_attempts = 2
[bmc]
call_timeout_ms = 1500
retries = 0
breaker_threshold = 1
breaker_cooldown_ms = 600000
`;

export class Daemon {
  constructor(bin) {
    this.bin = bin;
    this.dir = mkdtempSync(join(tmpdir(), 'provisiond-browser-'));
    this.db = join(this.dir, 'p.db');
    this.images = join(this.dir, 'images');
    this.log = join(this.dir, 'log');
    mkdirSync(this.images);
    writeFileSync(join(this.dir, 'p.ini'), INI.replace('%IMAGES%', this.images));
    execFileSync(bin, ['--init', '--db', this.db], { stdio: 'ignore' });
    this.admin = readFileSync(`${this.db}.admin-token`, 'utf8').trim();
    this.proc = null;
  }

  async start() {
    if (!this.port) this.port = await freePort();
    const ready = join(this.dir, 'ready');
    rmSync(ready, { force: true });
    const { openSync } = await import('node:fs');
    const out = openSync(this.log, 'a');
    this.proc = spawn(this.bin, ['--config', join(this.dir, 'p.ini'), '--db', this.db,
      '--listen', `127.0.0.1:${this.port}`, '--boot-listen', '127.0.0.1:0', '--ready-file', ready],
    { stdio: ['ignore', 'ignore', out] });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, sig) => resolve({ code, sig })));
    for (let i = 0; i < 300 && !existsSync(ready); i++) await sleep(50);
    if (!existsSync(ready)) throw new Error(`provisiond did not start; log ${this.log}`);
    this.url = `http://127.0.0.1:${this.port}`;
  }

  // SIGTERM and wait: returns the exit code (0 for a clean drain).
  async stop() {
    if (!this.proc) return 0;
    this.proc.kill('SIGTERM');
    const { code, sig } = await this.exited;
    this.proc = null;
    return sig ? 128 : code;
  }

  cleanup() {
    if (process.env.PROVISIOND_IT_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
  }

  async call(token, method, path, body, headers = {}) {
    const res = await fetch(this.url + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { json = null; }
    return { status: res.status, json, text };
  }

  async ok(token, method, path, body) {
    const r = await this.call(token, method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  }

  async token(role, owner) {
    return (await this.ok(this.admin, 'POST', '/v1/tokens', owner ? { role, owner } : { role, name: `${role}-console` })).token;
  }

  async enroll(name, unit, options, rack = 'r12') {
    this.macs = (this.macs || 0) + 1;
    const mac = `52:54:00:ab:${(this.macs >> 8).toString(16).padStart(2, '0')}:${(this.macs & 255).toString(16).padStart(2, '0')}`;
    return this.ok(this.admin, 'POST', '/v1/machines', {
      name, location: { site: 'dc1', rack, unit }, macs: [mac],
      bmc: { driver: 'fake', options: { sku: 'lab.small', delay_ms: 20, ...options } },
    });
  }

  async image(name) {
    const data = randomBytes(1024 * 1024);
    writeFileSync(join(this.images, `${name}.raw`), data);
    const sha256 = createHash('sha256').update(data).digest('hex');
    return this.ok(this.admin, 'POST', '/v1/images', { name, path: `${name}.raw`, format: 'raw', sha256 });
  }

  async waitFor(what, fn, timeoutMs = 30000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  async machineState(name) {
    return (await this.ok(this.admin, 'GET', `/v1/machines/${name}`)).state;
  }
}

// The agents suite's fixtures: the mock upstream and `bitrouter serve` as real processes on
// loopback, the router configuration, child processes with bounded waits, and the packages
// installed (pinned, by scripts/test) under target/agents.
//
// Binaries come from MOCK_UPSTREAM_BIN / BITROUTER_BIN, else target/debug under the repository
// root. Both listen on ephemeral loopback ports, read from their "listening on" line.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where scripts/test installed tests/agents/package-lock.json. */
export const NODE_DIR = process.env.AGENTS_NODE_DIR || join(REPO, 'target', 'agents');
/** The key every client sends the router; it must never reach an upstream. */
export const CALLER_KEY = 'sk-caller-key-must-not-leak-agents-7c1d';
/** Short protocol names, as in model and provider ids, and the protocol each stands for. */
export const PROTOCOLS = {
  chat: 'chat_completions',
  resp: 'responses',
  msg: 'messages',
  gem: 'generate_content',
};
/** The path an upstream model call of each protocol goes to (the mock's request log). */
export const UPSTREAM_PATH = {
  chat: /^\/v1\/chat\/completions$/,
  resp: /^\/v1\/responses$/,
  msg: /^\/v1\/messages$/,
  gem: /^\/v1beta\/models\/[^/:]+:(generateContent|streamGenerateContent\?alt=sse)$/,
};
const STARTUP_MS = 30_000;

const require = createRequire(join(NODE_DIR, 'package.json'));

/** An installed package, imported from NODE_DIR. */
export async function load(name) {
  return import(pathToFileURL(require.resolve(name)).href);
}

/** The path of an installed package's binary (`node_modules/.bin/<name>`). */
export function bin(name) {
  return join(NODE_DIR, 'node_modules', '.bin', name);
}

export function providerKey(p) {
  return `upstream-key-${p}`;
}

/** `0x…`: the seed of a nonce the mock's shell command prints (testkit/src/agent.rs). */
export function newSeed() {
  return `0x${randomBytes(4).toString('hex')}`;
}

/** What the shell prints for `seed`. */
export function nonceFor(seed) {
  return `bitrouter-nonce-${BigInt(seed).toString(10)}`;
}

/** A fresh directory outside the repository (a git checkout would change what agents do). */
export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), `bitrouter-agents-${prefix}-`));
}

/** The environment a child starts from: nothing of the caller's but PATH and the locale. */
export function baseEnv(home, extra = {}) {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: process.env.LANG ?? 'C.UTF-8',
    HOME: home,
    TMPDIR: tmpdir(),
    TERM: 'dumb',
    NO_COLOR: '1',
    CI: '1',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    ...extra,
  };
}

/**
 * Runs `cmd args` to completion or `timeoutMs`, whichever comes first (then SIGKILL, of the
 * whole process group). Never rejects: the result says what happened.
 */
export function run(cmd, args, { env, cwd, timeoutMs = 120_000, input = '' } = {}) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { env, cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => (stderr += `\n[spawn error] ${e.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.end(input);
  });
}

/** A long-running child whose first "listening on URL" line is awaited. */
class Daemon {
  constructor(name, cmd, args, env) {
    this.name = name;
    this.log = '';
    this.proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.url = new Promise((ok, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`${name} printed no "listening on" line in ${STARTUP_MS} ms:\n${this.log}`)),
        STARTUP_MS,
      );
      const seen = (d) => {
        this.log += d;
        const m = /listening on (http:\/\/\S+)/.exec(this.log);
        if (m) {
          clearTimeout(timer);
          ok(m[1].replace(/\/$/, ''));
        }
      };
      this.proc.stdout.on('data', seen);
      this.proc.stderr.on('data', (d) => (this.log += d));
      this.proc.on('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`${name} exited with ${code}:\n${this.log}`));
      });
    });
  }

  tail(n = 4000) {
    return this.log.slice(-n);
  }

  stop() {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

function binary(env, name) {
  return process.env[env] || join(REPO, 'target', 'debug', name);
}

/** Plain JSON over loopback, without an SDK (so a helper never hides an SDK problem). */
export async function http(method, url, body, headers = {}) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/**
 * The router configuration: per protocol `p`, provider `p` (its `api_protocol` pinned) serving
 * `text-p` (the mock's "Hello!", sent upstream as `up-p-text`) and `agent-p` (the agent
 * scenario, sent as `up-agent-p`).
 */
export function routerConfig(mockUrl) {
  const providers = {};
  for (const [p, protocol] of Object.entries(PROTOCOLS)) {
    providers[p] = {
      api_base: p === 'chat' || p === 'resp' ? `${mockUrl}/v1` : mockUrl,
      api_key: providerKey(p),
      api_protocol: protocol,
      allow_private: true,
      models: [
        { id: `text-${p}`, upstream_id: `up-${p}-text` },
        { id: `agent-${p}`, upstream_id: `up-agent-${p}` },
      ],
    };
  }
  return { inherit_defaults: false, server: { skip_auth: true }, providers };
}

/** The mock and the router, started for one test file; `stop()` ends both. */
export async function startStack() {
  const dir = tempDir('stack');
  const mock = new Daemon(
    'mock-upstream',
    binary('MOCK_UPSTREAM_BIN', 'mock-upstream'),
    ['--listen', '127.0.0.1:0'],
    baseEnv(dir),
  );
  const mockUrl = await mock.url;
  const home = join(dir, 'home');
  mkdirSync(home);
  const config = join(dir, 'bitrouter.yaml');
  writeFileSync(config, `${JSON.stringify(routerConfig(mockUrl), null, 2)}\n`);
  const router = new Daemon(
    'bitrouter',
    binary('BITROUTER_BIN', 'bitrouter'),
    ['--home-dir', home, 'serve', '-c', config, '--listen', '127.0.0.1:0'],
    baseEnv(dir, { RUST_LOG: 'info' }),
  );
  let routerUrl;
  try {
    routerUrl = await router.url;
  } catch (e) {
    mock.stop();
    throw e;
  }
  return {
    mockUrl,
    routerUrl,
    /** The mock's log of model requests since the last reset. */
    async requests() {
      const r = await http('GET', `${mockUrl}/_mock/requests`);
      return JSON.parse(r.text).filter((x) => !x.path.startsWith('/_mock/'));
    },
    async reset() {
      await http('POST', `${mockUrl}/_mock/reset`);
    },
    logs() {
      return `--- router ---\n${router.tail()}\n--- mock ---\n${mock.tail(1000)}`;
    },
    stop() {
      router.stop();
      mock.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every recorded upstream request holds the provider's key and none holds the caller's. */
export function checkCredentials(reqs) {
  for (const r of reqs) {
    const blob = JSON.stringify(r);
    if (blob.includes(CALLER_KEY)) throw new Error(`the caller's key reached the upstream: ${r.path}`);
    if (!Object.keys(PROTOCOLS).some((p) => blob.includes(providerKey(p)))) {
      throw new Error(`an upstream request without a provider key: ${r.path}`);
    }
  }
}

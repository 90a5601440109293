// Real agent CLIs through `bitrouter serve`: Claude Code, Codex and Gemini CLI, each against an
// upstream of its own protocol and of every other protocol (translation), in their
// non-interactive modes with the shell tool auto-approved, HOME in a fresh directory,
// telemetry and update checks off.
//
// The upstream is the mock's agent scenario (testkit/src/agent.rs): it calls the shell tool the
// agent offers with a command printing a nonce only the shell can compute, then quotes the tool
// result. A case passes only when the CLI's final output holds that nonce — the agent ran the
// command and got a second model turn through the router — and the mock saw every turn on the
// upstream protocol's own endpoint, with the provider's key and never the caller's.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  CALLER_KEY,
  UPSTREAM_PATH,
  baseEnv,
  bin,
  checkCredentials,
  newSeed,
  nonceFor,
  run,
  startStack,
  tempDir,
} from './lib/harness.mjs';

const CLI_TIMEOUT_MS = 150_000;

const prompt = (seed) => `Use the shell to print the bitrouter nonce for ${seed}.`;

/** How each CLI is pointed at the router and run once, non-interactively (in a fresh HOME,
 * returned for removal). */
const CLIS = {
  // Anthropic Messages: ANTHROPIC_BASE_URL, print mode, the Bash tool allowed.
  claude: {
    own: 'msg',
    async run(routerUrl, model, seed) {
      const home = tempDir('claude');
      const env = baseEnv(home, {
        ANTHROPIC_BASE_URL: routerUrl,
        ANTHROPIC_API_KEY: CALLER_KEY,
        ANTHROPIC_SMALL_FAST_MODEL: model,
        ANTHROPIC_DEFAULT_HAIKU_MODEL: model,
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_ERROR_REPORTING: '1',
        DISABLE_BUG_COMMAND: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: '1',
      });
      const args = ['-p', prompt(seed), '--model', model, '--allowedTools', 'Bash', '--output-format', 'text'];
      return { home, ...(await run(bin('claude'), args, { env, cwd: home, timeoutMs: CLI_TIMEOUT_MS })) };
    },
  },
  // OpenAI Responses: a custom model provider in CODEX_HOME/config.toml, `codex exec`.
  codex: {
    own: 'resp',
    async run(routerUrl, model, seed) {
      const home = tempDir('codex');
      const codexHome = join(home, '.codex');
      mkdirSync(codexHome);
      writeFileSync(
        join(codexHome, 'config.toml'),
        [
          `model = "${model}"`,
          'model_provider = "bitrouter"',
          'check_for_update_on_startup = false',
          '',
          '[model_providers.bitrouter]',
          'name = "bitrouter"',
          `base_url = "${routerUrl}/v1"`,
          'env_key = "BITROUTER_API_KEY"',
          'wire_api = "responses"',
          'request_max_retries = 0',
          'stream_max_retries = 0',
          '',
        ].join('\n'),
      );
      const env = baseEnv(home, { CODEX_HOME: codexHome, BITROUTER_API_KEY: CALLER_KEY });
      const args = [
        'exec',
        '--skip-git-repo-check',
        '--dangerously-bypass-approvals-and-sandbox',
        '--color',
        'never',
        prompt(seed),
      ];
      return { home, ...(await run(bin('codex'), args, { env, cwd: home, timeoutMs: CLI_TIMEOUT_MS })) };
    },
  },
  // Gemini: GOOGLE_GEMINI_BASE_URL with an API key, prompt mode, YOLO approvals.
  gemini: {
    own: 'gem',
    async run(routerUrl, model, seed) {
      const home = tempDir('gemini');
      mkdirSync(join(home, '.gemini'));
      writeFileSync(
        join(home, '.gemini', 'settings.json'),
        JSON.stringify({
          general: { disableAutoUpdate: true, disableUpdateNag: true },
          telemetry: { enabled: false },
          privacy: { usageStatisticsEnabled: false },
          security: { auth: { selectedType: 'gemini-api-key' } },
        }),
      );
      const env = baseEnv(home, {
        GEMINI_API_KEY: CALLER_KEY,
        GOOGLE_GEMINI_BASE_URL: routerUrl,
        GEMINI_CLI_TRUST_WORKSPACE: 'true',
      });
      const args = ['-p', prompt(seed), '-m', model, '--yolo', '--skip-trust', '--output-format', 'text'];
      return { home, ...(await run(bin('gemini'), args, { env, cwd: home, timeoutMs: CLI_TIMEOUT_MS })) };
    },
  },
};

/** The CLI's own protocol first, then the others. */
function upstreams(own) {
  return [own, ...['msg', 'resp', 'chat', 'gem'].filter((p) => p !== own)];
}

describe('agent CLIs through bitrouter', () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack?.stop());

  for (const [cli, spec] of Object.entries(CLIS)) {
    for (const up of upstreams(spec.own)) {
      const kind = up === spec.own ? 'its own protocol' : 'translated';
      test(`${cli} → ${up} upstream (${kind})`, { timeout: CLI_TIMEOUT_MS + 30_000 }, async () => {
        await stack.reset();
        const seed = newSeed();
        const r = await spec.run(stack.routerUrl, `agent-${up}`, seed);
        rmSync(r.home, { recursive: true, force: true });
        const reqs = await stack.requests();
        const why = () =>
          `exit ${r.code} ${r.signal ?? ''}${r.timedOut ? ' (timed out)' : ''}\n--- stdout ---\n${r.stdout.slice(-3000)}` +
          `\n--- stderr ---\n${r.stderr.slice(-3000)}\n--- upstream requests ---\n` +
          reqs.map((x) => `${x.method} ${x.path}`).join('\n') +
          `\n${stack.logs()}`;
        assert.ok(!r.timedOut, `${cli} did not finish: ${why()}`);
        assert.ok(r.stdout.includes(nonceFor(seed)), `no nonce ${nonceFor(seed)} in the final output: ${why()}`);
        assert.equal(r.code, 0, why());
        const turns = reqs.filter((x) => x.path.includes(`up-agent-${up}`) || JSON.stringify(x.body).includes(`up-agent-${up}`));
        assert.ok(turns.length >= 2, `fewer than two model turns upstream: ${why()}`);
        for (const x of turns) {
          assert.match(x.path, UPSTREAM_PATH[up], why());
        }
        checkCredentials(reqs);
      });
    }
  }
});

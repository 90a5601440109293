// The official JS SDKs (openai, @anthropic-ai/sdk, @google/genai) and the Vercel AI SDK
// (ai with @ai-sdk/openai, @ai-sdk/anthropic, @ai-sdk/google) as clients of `bitrouter
// serve`, each against an upstream of every protocol: a text answer, a streamed text answer,
// and a tool round trip (the mock's agent scenario calls the offered `shell` tool; the test
// answers with a random result; the next turn must quote it).
//
// Every case also checks what the upstream saw: the upstream protocol's own endpoint, the
// provider's key, never the caller's.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import {
  CALLER_KEY,
  UPSTREAM_PATH,
  checkCredentials,
  load,
  newSeed,
  startStack,
} from './lib/harness.mjs';

const TIMEOUT_MS = 30_000;
const HELLO = 'Hello!';
const SCHEMA = {
  type: 'object',
  properties: { command: { type: 'string', description: 'The command line.' } },
  required: ['command'],
};
const prompt = (seed) => `Use the shell to print the bitrouter nonce for ${seed}.`;
const newResult = () => `tool-result-${randomBytes(6).toString('hex')}`;

/**
 * Each caller: `text(model)` and `stream(model)` return the answer's text; `tool(model, seed,
 * result)` offers the shell tool, checks the call names `seed`, answers `result` and returns
 * the next turn's text.
 */
async function callers(url) {
  const { default: OpenAI } = await load('openai');
  const { default: Anthropic } = await load('@anthropic-ai/sdk');
  const { GoogleGenAI } = await load('@google/genai');
  const ai = await load('ai');
  const { createOpenAI } = await load('@ai-sdk/openai');
  const { createAnthropic } = await load('@ai-sdk/anthropic');
  const { createGoogleGenerativeAI } = await load('@ai-sdk/google');
  const { z } = await load('zod');

  const oai = new OpenAI({ apiKey: CALLER_KEY, baseURL: `${url}/v1`, maxRetries: 0, timeout: TIMEOUT_MS });
  const ant = new Anthropic({ apiKey: CALLER_KEY, baseURL: url, maxRetries: 0, timeout: TIMEOUT_MS });
  const gen = new GoogleGenAI({ apiKey: CALLER_KEY, httpOptions: { baseUrl: url, timeout: TIMEOUT_MS } });
  const aiOpenAI = createOpenAI({ apiKey: CALLER_KEY, baseURL: `${url}/v1` });
  const aiAnthropic = createAnthropic({ apiKey: CALLER_KEY, baseURL: `${url}/v1` });
  const aiGoogle = createGoogleGenerativeAI({ apiKey: CALLER_KEY, baseURL: `${url}/v1beta` });

  const checkCommand = (args, seed) =>
    assert.ok(JSON.stringify(args).includes(seed), `the tool call does not run the nonce command: ${JSON.stringify(args)}`);

  const chat = {
    async text(model) {
      const r = await oai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Say hello.' }] });
      return r.choices[0].message.content;
    },
    async stream(model) {
      const s = await oai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Say hello.' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
      return text;
    },
    async tool(model, seed, result) {
      const tools = [{ type: 'function', function: { name: 'shell', description: 'Run a shell command.', parameters: SCHEMA } }];
      const messages = [{ role: 'user', content: prompt(seed) }];
      const first = await oai.chat.completions.create({ model, messages, tools });
      const call = first.choices[0].message.tool_calls?.[0];
      assert.equal(call?.function.name, 'shell', JSON.stringify(first));
      checkCommand(JSON.parse(call.function.arguments), seed);
      messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: result });
      const second = await oai.chat.completions.create({ model, messages, tools });
      return second.choices[0].message.content;
    },
  };

  const responses = {
    async text(model) {
      return (await oai.responses.create({ model, input: 'Say hello.' })).output_text;
    },
    async stream(model) {
      const s = await oai.responses.create({ model, input: 'Say hello.', stream: true });
      let text = '';
      for await (const ev of s) if (ev.type === 'response.output_text.delta') text += ev.delta;
      return text;
    },
    async tool(model, seed, result) {
      const tools = [{ type: 'function', name: 'shell', description: 'Run a shell command.', parameters: SCHEMA, strict: false }];
      const input = [{ role: 'user', content: prompt(seed) }];
      const first = await oai.responses.create({ model, input, tools });
      const call = first.output.find((o) => o.type === 'function_call');
      assert.equal(call?.name, 'shell', JSON.stringify(first.output));
      checkCommand(JSON.parse(call.arguments), seed);
      input.push(...first.output, { type: 'function_call_output', call_id: call.call_id, output: result });
      return (await oai.responses.create({ model, input, tools })).output_text;
    },
  };

  const messages = {
    async text(model) {
      const m = await ant.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: 'Say hello.' }] });
      return m.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
    },
    async stream(model) {
      const s = ant.messages.stream({ model, max_tokens: 64, messages: [{ role: 'user', content: 'Say hello.' }] });
      let text = '';
      s.on('text', (t) => (text += t));
      await s.finalMessage();
      return text;
    },
    async tool(model, seed, result) {
      const tools = [{ name: 'shell', description: 'Run a shell command.', input_schema: SCHEMA }];
      const msgs = [{ role: 'user', content: prompt(seed) }];
      const first = await ant.messages.create({ model, max_tokens: 256, messages: msgs, tools });
      const use = first.content.find((b) => b.type === 'tool_use');
      assert.equal(use?.name, 'shell', JSON.stringify(first.content));
      checkCommand(use.input, seed);
      msgs.push(
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: result }] },
      );
      const second = await ant.messages.create({ model, max_tokens: 256, messages: msgs, tools });
      return second.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
    },
  };

  const genai = {
    async text(model) {
      return (await gen.models.generateContent({ model, contents: 'Say hello.' })).text;
    },
    async stream(model) {
      let text = '';
      for await (const c of await gen.models.generateContentStream({ model, contents: 'Say hello.' })) text += c.text ?? '';
      return text;
    },
    async tool(model, seed, result) {
      const config = { tools: [{ functionDeclarations: [{ name: 'shell', description: 'Run a shell command.', parametersJsonSchema: SCHEMA }] }] };
      const contents = [{ role: 'user', parts: [{ text: prompt(seed) }] }];
      const first = await gen.models.generateContent({ model, contents, config });
      const fc = first.functionCalls?.[0];
      assert.equal(fc?.name, 'shell', JSON.stringify(first.candidates));
      checkCommand(fc.args, seed);
      contents.push(first.candidates[0].content, {
        role: 'user',
        parts: [{ functionResponse: { name: fc.name, id: fc.id, response: { output: result } } }],
      });
      return (await gen.models.generateContent({ model, contents, config })).text;
    },
  };

  /** The AI SDK over one provider's language model. */
  const aiSdk = (languageModel) => ({
    async text(model) {
      return (await ai.generateText({ model: languageModel(model), prompt: 'Say hello.', maxRetries: 0 })).text;
    },
    async stream(model) {
      let failure;
      const r = ai.streamText({ model: languageModel(model), prompt: 'Say hello.', maxRetries: 0, onError: ({ error }) => (failure = error) });
      let text = '';
      for await (const d of r.textStream) text += d;
      if (failure) throw failure;
      return text;
    },
    async tool(model, seed, result) {
      let failure;
      let ran;
      const r = ai.streamText({
        model: languageModel(model),
        prompt: prompt(seed),
        maxRetries: 0,
        stopWhen: ai.stepCountIs(3),
        tools: {
          shell: ai.tool({
            description: 'Run a shell command.',
            inputSchema: z.object({ command: z.string() }),
            execute: async (args) => {
              ran = args;
              return result;
            },
          }),
        },
        onError: ({ error }) => (failure = error),
      });
      const text = await r.text;
      if (failure) throw failure;
      assert.ok(ran, `the shell tool never ran; answer: ${text}`);
      checkCommand(ran, seed);
      return text;
    },
  });

  return {
    'openai chat': { protocol: 'chat', ...chat },
    'openai responses': { protocol: 'resp', ...responses },
    anthropic: { protocol: 'msg', ...messages },
    'google-genai': { protocol: 'gem', ...genai },
    'ai-sdk openai (responses)': { protocol: 'resp', ...aiSdk((m) => aiOpenAI(m)) },
    'ai-sdk openai (chat)': { protocol: 'chat', ...aiSdk((m) => aiOpenAI.chat(m)) },
    'ai-sdk anthropic': { protocol: 'msg', ...aiSdk((m) => aiAnthropic(m)) },
    'ai-sdk google': { protocol: 'gem', ...aiSdk((m) => aiGoogle(m)) },
  };
}

const CALLERS = [
  'openai chat',
  'openai responses',
  'anthropic',
  'google-genai',
  'ai-sdk openai (responses)',
  'ai-sdk openai (chat)',
  'ai-sdk anthropic',
  'ai-sdk google',
];

describe('JS SDKs and the AI SDK through bitrouter', () => {
  let stack;
  let clients;
  before(async () => {
    stack = await startStack();
    clients = await callers(stack.routerUrl);
  });
  after(() => stack?.stop());

  /** Runs `body`, then checks the upstream saw `up`'s own endpoint and the right keys. */
  const upstreamCase = (up, body) => async () => {
    await stack.reset();
    try {
      await body();
    } catch (e) {
      e.message += `\n${stack.logs()}`;
      throw e;
    }
    const reqs = await stack.requests();
    assert.ok(reqs.length > 0, 'the upstream saw no request');
    for (const r of reqs) assert.match(r.path, UPSTREAM_PATH[up]);
    checkCredentials(reqs);
  };

  for (const name of CALLERS) {
    for (const up of ['chat', 'resp', 'msg', 'gem']) {
      test(`${name} → ${up}: text`, { timeout: 60_000 }, upstreamCase(up, async () => {
        assert.equal(await clients[name].text(`text-${up}`), HELLO);
      }));
      test(`${name} → ${up}: streaming text`, { timeout: 60_000 }, upstreamCase(up, async () => {
        assert.equal(await clients[name].stream(`text-${up}`), HELLO);
      }));
      test(`${name} → ${up}: tool round trip`, { timeout: 60_000 }, upstreamCase(up, async () => {
        const result = newResult();
        const text = await clients[name].tool(`agent-${up}`, newSeed(), result);
        assert.ok(text?.includes(result), `the next turn does not quote the tool result ${result}: ${text}`);
      }));
    }
  }
});

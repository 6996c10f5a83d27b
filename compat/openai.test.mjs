// The openai npm package against Tollgate, with only its base URL and key
// changed: raw create (JSON and stream) and the strict
// chat.completions.stream() helper.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import {
  url, key, model, reply, invalidModel, rateLimitedModel, badKey, noRateLimit,
  brokenStreamModel, noBrokenStream, messages, checkUsage,
} from './helpers.mjs';

const client = new OpenAI({ apiKey: key, baseURL: url });
const noRetry = (apiKey = key) => new OpenAI({ apiKey, baseURL: url, maxRetries: 0 });

describe('openai npm: chat completions', () => {
  it('non-streaming create', async () => {
    const out = await client.chat.completions.create({ model, messages });
    assert.ok(out.id);
    assert.equal(out.model, model);
    assert.equal(out.object, 'chat.completion');
    assert.equal(out.choices[0].message.role, 'assistant');
    assert.equal(out.choices[0].message.content, reply);
    assert.equal(out.choices[0].finish_reason, 'stop');
    checkUsage(out.usage);
  });

  it('streaming create with stream_options.include_usage', async () => {
    const stream = await client.chat.completions.create({
      model, messages, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let finish;
    let usage;
    let n = 0;
    for await (const chunk of stream) {
      n++;
      assert.ok(chunk.id && chunk.model === model && Array.isArray(chunk.choices), JSON.stringify(chunk));
      for (const c of chunk.choices) {
        text += c.delta?.content ?? '';
        if (c.finish_reason) finish = c.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(n >= 2, `${n} chunks`);
    assert.equal(text, reply);
    assert.equal(finish, 'stop');
    checkUsage(usage, 'last usage seen');
  });

  it('chat.completions.stream() helper: finalContent and finalChatCompletion', async () => {
    const stream = client.chat.completions.stream({ model, messages });
    let deltas = '';
    stream.on('content', (delta) => { deltas += delta; });
    const content = await stream.finalContent();
    assert.equal(content, reply, 'finalContent (a cumulative message in chunks would corrupt it)');
    assert.equal(deltas, reply, "the 'content' events");
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0].message.content, reply);
    assert.equal(final.choices[0].message.role, 'assistant');
    assert.equal(final.choices[0].finish_reason, 'stop');
    assert.equal(final.model, model);
    checkUsage(final.usage, 'finalChatCompletion().usage (the last chunk\'s)');
  });

  it('an OpenAI-style base URL ending in /v1: models.list and create', async () => {
    const v1 = new OpenAI({ apiKey: key, baseURL: `${url}/v1` });
    const ids = [];
    for await (const m of v1.models.list()) {
      assert.equal(m.object, 'model');
      ids.push(m.id);
    }
    assert.ok(ids.includes(model), `models: ${ids}`);
    const out = await v1.chat.completions.create({ model, messages });
    assert.equal(out.choices[0].message.content, reply);
  });

  it('Perplexity parameters pass through as extra body fields', async () => {
    const out = await client.chat.completions.create({
      model, messages,
      // @ts-expect-error: not an OpenAI parameter
      search_domain_filter: ['example.org'],
    });
    assert.equal(out.choices[0].message.content, reply);
  });
});

describe('openai npm: errors', () => {
  it('401 → AuthenticationError with the message', async () => {
    await assert.rejects(noRetry(badKey).chat.completions.create({ model, messages }), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 401);
      assert.ok(err.message.startsWith('401 '), err.message);
      assert.ok(err.message.length > 4, err.message);
      assert.ok(err.type, `type ${err.type}`);
      return true;
    });
  });

  it('401 from the stream() helper', async () => {
    const stream = noRetry(badKey).chat.completions.stream({ model, messages });
    await assert.rejects(stream.finalContent(), (err) => err instanceof OpenAI.AuthenticationError);
  });

  it('400 → BadRequestError (unknown model)', async () => {
    await assert.rejects(noRetry().chat.completions.create({ model: invalidModel, messages }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 400);
      assert.match(err.message, new RegExp(invalidModel));
      assert.equal(err.param, 'model');
      return true;
    });
  });

  it('429 → RateLimitError', { skip: noRateLimit }, async () => {
    await assert.rejects(noRetry().chat.completions.create({ model: rateLimitedModel, messages }), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 429);
      assert.ok(err.headers.get('retry-after'), 'retry-after header');
      return true;
    });
  });

  it('a stream that fails midway throws an APIError', { skip: noBrokenStream }, async () => {
    const stream = await client.chat.completions.create({ model: brokenStreamModel, messages, stream: true });
    let text = '';
    await assert.rejects(async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    }, (err) => err instanceof OpenAI.APIError && err.message.length > 0);
    assert.ok(text.length > 0 && reply.startsWith(text), `text before the failure: ${JSON.stringify(text)}`);
  });

  it('the stream() helper rejects when the stream fails midway', { skip: noBrokenStream }, async () => {
    const stream = client.chat.completions.stream({ model: brokenStreamModel, messages });
    await assert.rejects(stream.finalContent(), (err) => err instanceof OpenAI.APIError);
  });

  it('429 from a stream', { skip: noRateLimit }, async () => {
    await assert.rejects(
      noRetry().chat.completions.create({ model: rateLimitedModel, messages, stream: true }),
      (err) => err instanceof OpenAI.RateLimitError && err.status === 429);
  });
});

// The official Perplexity TypeScript SDK against Tollgate, with only its
// base URL and key changed.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import Perplexity, {
  APIError, AuthenticationError, BadRequestError, RateLimitError,
} from '@perplexity-ai/perplexity_ai';
import {
  url, key, model, reply, invalidModel, rateLimitedModel, badKey, noRateLimit,
  brokenStreamModel, noBrokenStream, citation, messages, checkUsage, asyncProbe,
  groundedModel, noGrounded,
} from './helpers.mjs';

const client = new Perplexity({ apiKey: key, baseURL: url });
const noRetry = (apiKey = key) => new Perplexity({ apiKey, baseURL: url, maxRetries: 0 });

describe('Perplexity TS SDK: chat completions', () => {
  it('non-streaming create', async () => {
    const out = await client.chat.completions.create({ model, messages });
    assert.equal(typeof out, 'object', 'the SDK parsed the body as JSON (Content-Type)');
    assert.ok(out.id, 'id');
    assert.equal(out.model, model);
    assert.equal(typeof out.created, 'number');
    assert.equal(out.object, 'chat.completion');
    assert.equal(out.choices.length, 1);
    const [choice] = out.choices;
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.message.content, reply);
    assert.equal(choice.finish_reason, 'stop');
    checkUsage(out.usage);
    if (citation) assert.deepEqual(out.citations, [citation], 'the upstream\'s citations');
  });

  it('a base URL with a trailing slash', async () => {
    const out = await new Perplexity({ apiKey: key, baseURL: `${url}/` }).chat.completions.create({ model, messages });
    assert.equal(out.choices[0].message.content, reply);
  });

  it('streaming create: async iterator of chunks', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.length >= 2, `${chunks.length} chunks`);
    let text = '';
    for (const [i, c] of chunks.entries()) {
      assert.equal(typeof c, 'object', `chunk ${i} is parsed JSON`);
      assert.ok(c.id, `chunk ${i} id`);
      assert.equal(c.id, chunks[0].id, `chunk ${i} keeps the completion id`);
      assert.equal(c.model, model, `chunk ${i} model`);
      assert.equal(typeof c.created, 'number', `chunk ${i} created`);
      assert.ok(Array.isArray(c.choices) && c.choices.length === 1, `chunk ${i} choices`);
      assert.equal(typeof c.choices[0].delta, 'object', `chunk ${i} delta`);
      text += c.choices[0].delta.content ?? '';
      if (i < chunks.length - 1) {
        assert.ok(c.choices[0].finish_reason == null, `interim chunk ${i} has finish_reason ${c.choices[0].finish_reason}`);
      }
    }
    assert.equal(text, reply);
    const last = chunks.at(-1);
    assert.equal(last.choices[0].finish_reason, 'stop');
    assert.equal(last.object, 'chat.completion.done');
    checkUsage(last.usage, 'last chunk usage');
    if (citation) assert.deepEqual(last.citations, [citation], 'citations on the last chunk');
  });

  it('a stream that fails midway throws an APIError', { skip: noBrokenStream }, async () => {
    const stream = await client.chat.completions.create({ model: brokenStreamModel, messages, stream: true });
    let text = '';
    await assert.rejects(async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    }, (err) => {
      assert.ok(err instanceof APIError, `${err?.constructor?.name}: ${err}`);
      assert.ok(err.error?.error?.message || err.message, 'a message');
      return true;
    });
    assert.ok(text.length > 0 && reply.startsWith(text), `text before the failure: ${JSON.stringify(text)}`);
  });

  it('search parameters pass through', async () => {
    const out = await client.chat.completions.create({
      model, messages,
      search_domain_filter: ['example.org', '-spam.example'],
      search_recency_filter: 'week',
      search_mode: 'web',
      return_related_questions: true,
      web_search_options: { search_context_size: 'low' },
    });
    assert.equal(out.choices[0].message.content, reply);
  });
});

describe('Perplexity TS SDK: errors', () => {
  it('401 → AuthenticationError', async () => {
    await assert.rejects(noRetry(badKey).chat.completions.create({ model, messages }), (err) => {
      assert.ok(err instanceof AuthenticationError, `${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 401);
      assert.ok(err.error?.error?.message, `error body ${JSON.stringify(err.error)}`);
      return true;
    });
  });

  it('401 on a stream → AuthenticationError', async () => {
    await assert.rejects(noRetry(badKey).chat.completions.create({ model, messages, stream: true }),
      (err) => err instanceof AuthenticationError && err.status === 401);
  });

  it('400 → BadRequestError (unknown model)', async () => {
    await assert.rejects(noRetry().chat.completions.create({ model: invalidModel, messages }), (err) => {
      assert.ok(err instanceof BadRequestError, `${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 400);
      assert.match(err.error.error.message, new RegExp(invalidModel));
      assert.equal(err.error.error.code, 400);
      return true;
    });
  });

  it('429 → RateLimitError', { skip: noRateLimit }, async () => {
    await assert.rejects(noRetry().chat.completions.create({ model: rateLimitedModel, messages }), (err) => {
      assert.ok(err instanceof RateLimitError, `${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 429);
      assert.ok(err.headers.get('retry-after'), 'retry-after header');
      return true;
    });
  });

  it('429 on a stream → RateLimitError', { skip: noRateLimit }, async () => {
    await assert.rejects(noRetry().chat.completions.create({ model: rateLimitedModel, messages, stream: true }),
      (err) => err instanceof RateLimitError && err.status === 429);
  });
});

describe('Perplexity TS SDK: async chat completions', async () => {
  const skip = await asyncProbe();

  it('create, then get until COMPLETED', { skip }, async () => {
    const created = await client.async.chat.completions.create({ request: { model, messages } });
    assert.ok(created.id, 'id');
    assert.equal(created.model, model);
    assert.equal(typeof created.created_at, 'number');
    assert.ok(['CREATED', 'IN_PROGRESS', 'COMPLETED'].includes(created.status), `status ${created.status}`);
    let got = created;
    const deadline = Date.now() + 15_000;
    while (got.status !== 'COMPLETED') {
      assert.notEqual(got.status, 'FAILED', `job failed: ${got.error_message}`);
      assert.ok(Date.now() < deadline, `still ${got.status} after 15 s`);
      await new Promise((r) => setTimeout(r, 100));
      got = await client.async.chat.completions.get(created.id);
      assert.equal(got.id, created.id);
    }
    assert.equal(typeof got.completed_at, 'number');
    assert.equal(got.response.choices[0].message.content, reply);
    assert.equal(got.response.choices[0].message.role, 'assistant');
    checkUsage(got.response.usage, 'async response usage');
  });

  it('list includes the request', { skip }, async () => {
    const created = await client.async.chat.completions.create({ request: { model, messages } });
    const list = await client.async.chat.completions.list();
    assert.ok(Array.isArray(list.requests), JSON.stringify(list));
    assert.ok(list.requests.some((r) => r.id === created.id), 'the new request is listed');
  });

  it('get of an unknown id → 404', { skip }, async () => {
    await assert.rejects(noRetry().async.chat.completions.get('no-such-request'),
      (err) => err instanceof APIError && err.status === 404);
  });
});

describe('Perplexity TS SDK: answers grounded in the local index, offline', () => {
  const question = [{ role: 'user', content: 'How do I rotate an API key?' }];

  it('non-streaming: an answer with citations and search results', { skip: noGrounded }, async () => {
    const out = await client.chat.completions.create({ model: groundedModel, messages: question });
    const text = out.choices[0].message.content;
    assert.match(text, /\[1\]/, 'the answer cites its first source');
    assert.equal(out.citations[0], 'tollgate://docs/keys.md');
    assert.ok(out.search_results.length >= out.citations.length, 'search_results cover the citations');
    assert.equal(out.search_results[0].url, out.citations[0]);
    assert.equal(out.usage.num_search_queries, 1);
    assert.ok(out.usage.cost.total_cost >= 0, 'usage.cost');
  });

  it('streaming: the same citations on the last chunk', { skip: noGrounded }, async () => {
    const stream = await client.chat.completions.create({ model: groundedModel, messages: question, stream: true });
    let text = '';
    let last;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      last = chunk;
    }
    assert.match(text, /\[1\]/);
    assert.equal(last.citations[0], 'tollgate://docs/keys.md');
  });
});

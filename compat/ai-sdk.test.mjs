// The Vercel AI SDK's Perplexity provider against Tollgate, with only its
// base URL and key changed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPerplexity } from '@ai-sdk/perplexity';
import { generateText, streamText, APICallError } from 'ai';
import {
  url, key, model, reply, completionTokens, badKey, rateLimitedModel, noRateLimit,
  brokenStreamModel, noBrokenStream, citation, messages,
} from './helpers.mjs';

const perplexity = createPerplexity({ apiKey: key, baseURL: url });
const system = messages[0].content;
const prompt = messages[1].content;

function checkUsage(usage) {
  assert.ok(usage.inputTokens > 0, `inputTokens ${usage.inputTokens}`);
  assert.ok(usage.outputTokens > 0, `outputTokens ${usage.outputTokens}`);
  if (completionTokens !== undefined) assert.equal(usage.outputTokens, completionTokens);
  assert.equal(usage.totalTokens, usage.inputTokens + usage.outputTokens);
}

describe('AI SDK (@ai-sdk/perplexity)', () => {
  it('generateText', async () => {
    const out = await generateText({ model: perplexity(model), system, prompt, maxRetries: 0 });
    assert.equal(out.text, reply);
    assert.equal(out.finishReason, 'stop');
    checkUsage(out.usage);
    assert.equal(out.response.modelId, model);
    assert.ok(out.response.id, 'response id');
    if (citation) {
      assert.deepEqual(out.sources.map((s) => s.url), [citation], 'sources from citations');
    }
  });

  it('generateText with Perplexity provider options', async () => {
    const out = await generateText({
      model: perplexity(model), system, prompt, maxRetries: 0,
      providerOptions: { perplexity: { search_domain_filter: ['example.org'], search_recency_filter: 'week' } },
    });
    assert.equal(out.text, reply);
  });

  it('streamText', async () => {
    const errors = [];
    const result = streamText({
      model: perplexity(model), system, prompt, maxRetries: 0,
      onError: ({ error }) => errors.push(error),
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.deepEqual(errors, [], 'stream error parts');
    assert.equal(text, reply);
    assert.equal(await result.text, reply);
    assert.equal(await result.finishReason, 'stop');
    checkUsage(await result.usage);
  });

  it('streamText reports a stream that fails midway', { skip: noBrokenStream }, async () => {
    const errors = [];
    const result = streamText({
      model: perplexity(brokenStreamModel), prompt, maxRetries: 0,
      onError: ({ error }) => errors.push(error),
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.ok(errors.length >= 1, 'onError was called');
    assert.ok(text.length > 0 && reply.startsWith(text), `text before the failure: ${JSON.stringify(text)}`);
  });

  it('401 surfaces as an APICallError with status 401', async () => {
    const bad = createPerplexity({ apiKey: badKey, baseURL: url });
    await assert.rejects(generateText({ model: bad(model), prompt, maxRetries: 0 }), (err) => {
      assert.ok(APICallError.isInstance(err), `${err?.constructor?.name}: ${err}`);
      assert.equal(err.statusCode, 401);
      assert.equal(err.isRetryable, false);
      assert.notEqual(err.message, 'Unauthorized', 'the message comes from the error body, not the status text');
      return true;
    });
  });

  it('401 on streamText reaches onError as an APICallError', async () => {
    const bad = createPerplexity({ apiKey: badKey, baseURL: url });
    const errors = [];
    const result = streamText({ model: bad(model), prompt, maxRetries: 0, onError: ({ error }) => errors.push(error) });
    for await (const _ of result.textStream) { /* drain */ }
    assert.equal(errors.length, 1, `errors: ${errors}`);
    assert.ok(APICallError.isInstance(errors[0]) && errors[0].statusCode === 401, `${errors[0]}`);
  });

  it('429 surfaces as a retryable APICallError', { skip: noRateLimit }, async () => {
    await assert.rejects(generateText({ model: perplexity(rateLimitedModel), prompt, maxRetries: 0 }), (err) => {
      assert.ok(APICallError.isInstance(err), `${err?.constructor?.name}: ${err}`);
      assert.equal(err.statusCode, 429);
      assert.equal(err.isRetryable, true);
      return true;
    });
  });
});

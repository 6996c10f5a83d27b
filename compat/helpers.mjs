// Shared settings for the compatibility tests. cmd/tollgate/compat_test.go
// starts a Tollgate with fake upstreams and sets these variables; to run the
// suite by hand against any Tollgate, set them yourself:
//
//   TOLLGATE_URL                 base URL, e.g. http://127.0.0.1:8080 (required)
//   TOLLGATE_KEY                 a valid pplx- key (required)
//   TOLLGATE_MODEL               a routed chat model (default sonar)
//   TOLLGATE_REPLY               the exact reply the upstream gives (required)
//   TOLLGATE_COMPLETION_TOKENS   completion tokens the upstream reports for it (optional)
//   TOLLGATE_INVALID_MODEL       a model name the catalog does not know (default gpt-9): 400
//   TOLLGATE_CITATION            a citation URL the upstream returns with the reply (optional)
//   TOLLGATE_RATE_LIMITED_MODEL  a model whose upstream always answers 429 (optional)
//   TOLLGATE_BROKEN_STREAM_MODEL a model whose upstream drops streams after a few chunks (optional)
//   TOLLGATE_BAD_KEY             a well-formed key Tollgate does not know (default made up): 401
//   TOLLGATE_GROUNDED_MODEL      a search model with no LLM route, answered offline from the bundled docs (optional)
import assert from 'node:assert/strict';

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; see compat/helpers.mjs`);
  return v;
}

export const url = required('TOLLGATE_URL').replace(/\/+$/, '');
export const key = required('TOLLGATE_KEY');
export const model = process.env.TOLLGATE_MODEL || 'sonar';
export const reply = required('TOLLGATE_REPLY');
export const completionTokens = process.env.TOLLGATE_COMPLETION_TOKENS
  ? Number(process.env.TOLLGATE_COMPLETION_TOKENS) : undefined;
export const invalidModel = process.env.TOLLGATE_INVALID_MODEL || 'gpt-9';
export const citation = process.env.TOLLGATE_CITATION || '';
export const rateLimitedModel = process.env.TOLLGATE_RATE_LIMITED_MODEL || '';
export const brokenStreamModel = process.env.TOLLGATE_BROKEN_STREAM_MODEL || '';
export const badKey = process.env.TOLLGATE_BAD_KEY || 'pplx-' + '0'.repeat(48);
export const groundedModel = process.env.TOLLGATE_GROUNDED_MODEL || '';
export const noGrounded = groundedModel ? false : 'TOLLGATE_GROUNDED_MODEL is not set';

// Skip reason for tests that need a 429 trigger when none is configured.
export const noRateLimit = rateLimitedModel ? false : 'TOLLGATE_RATE_LIMITED_MODEL is not set';
export const noBrokenStream = brokenStreamModel ? false : 'TOLLGATE_BROKEN_STREAM_MODEL is not set';
export const noCitation = citation ? false : 'TOLLGATE_CITATION is not set';

export const messages = [
  { role: 'system', content: 'Be precise.' },
  { role: 'user', content: 'Which dialects does Tollgate speak?' },
];

// checkUsage asserts a usage object is internally consistent and, when the
// upstream's count is known, exact.
export function checkUsage(u, what = 'usage') {
  assert.ok(u, `${what} is missing`);
  assert.equal(typeof u.prompt_tokens, 'number', `${what}.prompt_tokens`);
  assert.ok(u.prompt_tokens > 0, `${what}.prompt_tokens = ${u.prompt_tokens}`);
  assert.ok(u.completion_tokens > 0, `${what}.completion_tokens = ${u.completion_tokens}`);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens, `${what}.total_tokens`);
  if (completionTokens !== undefined) {
    assert.equal(u.completion_tokens, completionTokens, `${what}.completion_tokens`);
  }
}

// asyncProbe tells whether POST /async/chat/completions exists: a route
// that is missing answers 404; one that exists rejects an empty body with 400.
export async function asyncProbe() {
  const res = await fetch(`${url}/async/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: '{}',
  });
  const text = await res.text();
  if (res.status === 404) {
    return `async endpoints not available: POST /async/chat/completions answered 404 ${text.trim()}`;
  }
  return false;
}

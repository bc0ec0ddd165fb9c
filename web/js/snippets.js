// How a client calls an upstream through the gateway: its client base URL
// (http(s)://this host/proxy/NAME, from the page's own location) and
// copyable curl and OpenAI SDK (Python, JavaScript) snippets.  The token is
// a placeholder: the page never knows a client token's value after it was
// shown once.
import {copyButton} from './copy.js';
import {h} from './dom.js';
import {t} from './i18n.js';

export function clientBaseUrl(name) {
  return `${location.protocol}//${location.host}/proxy/${name}`;
}

// The test request that fits the upstream's answer format.
function testCall(u) {
  if (u.usage_format === 'anthropic') {
    return {path: '/messages', body: {model: 'claude-3-5-haiku-latest', max_tokens: 32,
      messages: [{role: 'user', content: 'Say hello'}]}};
  }
  if (u.usage_format === 'gemini') {
    return {path: '/models/gemini-2.0-flash:generateContent',
      body: {contents: [{parts: [{text: 'Say hello'}]}]}};
  }
  return {path: '/chat/completions', body: {model: 'gpt-4o-mini',
    messages: [{role: 'user', content: 'Say hello'}]}};
}

export function curlSnippet(u) {
  const c = testCall(u);
  const auth = u.public ? '' : ' \\\n  -H "Authorization: Bearer $APIGW_TOKEN"';
  return `curl ${clientBaseUrl(u.name)}${c.path}${auth} \\\n  -H "Content-Type: application/json" \\\n` +
    `  -d '${JSON.stringify(c.body)}'`;
}

export function pythonSnippet(u) {
  return `from openai import OpenAI\n\nclient = OpenAI(\n    base_url="${clientBaseUrl(u.name)}",\n` +
    `    api_key="${u.public ? 'unused' : 'YOUR_CLIENT_TOKEN'}",\n)\n` +
    `reply = client.chat.completions.create(\n    model="gpt-4o-mini",\n` +
    `    messages=[{"role": "user", "content": "Say hello"}],\n)\nprint(reply.choices[0].message.content)`;
}

export function jsSnippet(u) {
  return `import OpenAI from 'openai';\n\nconst client = new OpenAI({\n  baseURL: '${clientBaseUrl(u.name)}',\n` +
    `  apiKey: ${u.public ? "'unused'" : 'process.env.APIGW_TOKEN'},\n});\n` +
    `const reply = await client.chat.completions.create({\n  model: 'gpt-4o-mini',\n` +
    `  messages: [{role: 'user', content: 'Say hello'}],\n});\nconsole.log(reply.choices[0].message.content);`;
}

function snippet(title, text, id) {
  return h('div', {class: 'snippet'},
    h('div', {class: 'snippet-head'}, h('h4', null, title), copyButton(text, {'aria-label': t('Copy {what}', {what: title})})),
    h('pre', {class: 'mono small', id}, text));
}

// The panel: base URL and the three snippets for upstream u.
export function snippetsPanel(u) {
  const base = clientBaseUrl(u.name);
  return h('div', {class: 'snippets', id: 'upstream-snippets', dataset: {upstream: u.name}},
    h('div', {class: 'snippet-base'},
      h('span', {class: 'muted small'}, t('Client base URL')), ' ',
      h('code', {class: 'mono', id: 'client-base-url'}, base), ' ',
      copyButton(base, {id: 'client-base-copy', 'aria-label': t('Copy the client base URL')})),
    u.public ? h('p', {class: 'muted small'}, t('This upstream is public: clients need no token.'))
      : h('p', {class: 'muted small'}, t('Replace YOUR_CLIENT_TOKEN (or set APIGW_TOKEN) with a client token from the Client tokens page.')),
    snippet('curl', curlSnippet(u), 'snippet-curl'),
    snippet(t('OpenAI SDK (Python)'), pythonSnippet(u), 'snippet-python'),
    snippet(t('OpenAI SDK (JavaScript)'), jsSnippet(u), 'snippet-js'));
}

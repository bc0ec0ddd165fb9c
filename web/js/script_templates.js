// Starting points for an upstream's script (docs/SCRIPTS.md has more).
// ECMAScript 5.1: var and function only.  The sources stay English: they
// are code.  Each says what it does and when to use it.
import {t} from './i18n.js';

export const SCRIPT_TEMPLATES = [
  {
    id: 'error-in-200',
    label: () => t('Error hidden in a 200 body'),
    about: () => t('Retries an answer that says 200 but carries an error, and takes a key whose quota is gone out for the day. Use it for providers that report errors inside a success.'),
    source: `// Some providers answer 200 with {"error": {...}}: retry with another key,
// and take a key out for the day when its quota is gone.
function onResponse(res, req, ctx) {
    if (res.status !== 200 || !res.json || !res.json.error)
        return undefined;
    var e = res.json.error;
    if (e.code === 'insufficient_quota')
        return {action: 'disable_key', until: 'quota_reset', reason: 'quota gone (in a 200 body)'};
    return {action: 'retry', reason: 'error in a 200 body: ' + String(e.code || e.message)};
}
`,
  },
  {
    id: 'model-mapping',
    label: () => t('Model mapping'),
    about: () => t('Rewrites the model a client asks for into the one the provider wants. Use it when clients keep old model names.'),
    source: `// Clients ask for one model name; the provider wants another.
var MODELS = {'gpt-4': 'gpt-4o', 'gpt-3.5-turbo': 'gpt-4o-mini'};

function onRequest(req, ctx) {
    if (req.json && typeof req.json.model === 'string' &&
        Object.prototype.hasOwnProperty.call(MODELS, req.json.model)) {
        ctx.log('model ' + req.json.model + ' -> ' + MODELS[req.json.model]);
        req.json.model = MODELS[req.json.model];
    }
}
`,
  },
  {
    id: 'header-per-token',
    label: () => t('A header per client token'),
    about: () => t('Sets a header whose value depends on the client token, such as a project per team. Use it to bill or route per client.'),
    source: `// A header whose value depends on the client token (by its name).
var PROJECTS = {'team-a': 'proj_a', 'team-b': 'proj_b'};

function onRequest(req, ctx) {
    if (ctx.token !== null && Object.prototype.hasOwnProperty.call(PROJECTS, ctx.token))
        req.headers['openai-project'] = PROJECTS[ctx.token];
}
`,
  },
];

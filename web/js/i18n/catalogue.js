// Every area's Chinese strings, added at start.  One import per area file;
// English needs no table (the keys are the English text).
import {addStrings} from '../i18n.js';
import api from './zh_api.js';
import common from './zh_common.js';
import dashboard from './zh_dashboard.js';
import errors from './zh_errors.js';
import forms from './zh_forms.js';
import keys from './zh_keys.js';
import login from './zh_login.js';
import logs from './zh_logs.js';
import rules from './zh_rules.js';
import tokens from './zh_tokens.js';
import upstreams from './zh_upstreams.js';
import users from './zh_users.js';

for (const table of [api, common, dashboard, errors, forms, keys, login, logs, rules, tokens, upstreams, users]) addStrings('zh-CN', table);

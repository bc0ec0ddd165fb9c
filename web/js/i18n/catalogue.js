// Every area's Chinese strings, added at start.  One import per area file;
// English needs no table (the keys are the English text).
import {addStrings} from '../i18n.js';
import common from './zh_common.js';
import dashboard from './zh_dashboard.js';
import tokens from './zh_tokens.js';
import upstreams from './zh_upstreams.js';

for (const table of [common, dashboard, tokens, upstreams]) addStrings('zh-CN', table);

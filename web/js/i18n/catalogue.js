// Every area's Chinese strings, added at start.  One import per area file;
// English needs no table (the keys are the English text).
import {addStrings} from '../i18n.js';
import common from './zh_common.js';
import rules from './zh_rules.js';

for (const table of [common, rules]) addStrings('zh-CN', table);

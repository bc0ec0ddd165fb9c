// Every area's Chinese strings, added at start.  One import per area file;
// English needs no table (the keys are the English text).
import {addStrings} from '../i18n.js';
import common from './zh_common.js';
import api from './zh_api.js';
import forms from './zh_forms.js';

for (const table of [common, api, forms]) addStrings('zh-CN', table);

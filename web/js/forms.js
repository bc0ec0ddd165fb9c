// Reading typed values out of form inputs, for JSON bodies.

// kind: 'string' | 'nullable' | 'int' | 'int_nullable' | 'json_nullable' | 'bool' | 'select'
// Returns undefined when the member should be left out of the body.
export function readValue(el, kind, creating) {
  if (kind === 'bool') return el.checked;
  const raw = el.value;
  if (kind === 'int') {
    if (raw.trim() === '') return undefined;
    return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  }
  if (kind === 'nullable') {
    if (raw.trim() === '') return creating ? undefined : null;
    return raw;
  }
  if (kind === 'json_nullable') {
    // JSON text; text that does not parse goes as it is, and the API names
    // the field in its answer.
    if (raw.trim() === '') return creating ? undefined : null;
    try { return JSON.parse(raw); } catch (e) { return raw; }
  }
  if (kind === 'int_nullable') {
    if (raw.trim() === '') return creating ? undefined : null;
    return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  }
  return raw;
}

// fields: [[name, kind]]; form inputs are found by name.
export function readForm(form, fields, creating) {
  const body = {};
  for (const [name, kind] of fields) {
    const el = form.elements.namedItem(name);
    if (!el) continue;
    const v = readValue(el, kind, creating);
    if (v !== undefined) body[name] = v;
  }
  return body;
}

export function setForm(form, fields, obj) {
  for (const [name, kind] of fields) {
    const el = form.elements.namedItem(name);
    if (!el || !(name in obj)) continue;
    if (kind === 'bool') el.checked = !!obj[name];
    else if (kind === 'json_nullable') el.value = obj[name] === null || obj[name] === undefined ? '' : JSON.stringify(obj[name]);
    else el.value = obj[name] === null || obj[name] === undefined ? '' : String(obj[name]);
  }
}

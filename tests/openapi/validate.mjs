// Validates an OpenAPI document (a file, or - for stdin) against the
// OpenAPI 3.1 JSON Schema with @seriousme/openapi-schema-validator, and
// checks that every $ref resolves.  Prints "valid" and exits 0, or the
// faults and exits 1.
import {readFileSync} from 'node:fs';
import {Validator} from '@seriousme/openapi-schema-validator';

const file = process.argv[2] || '-';
const text = readFileSync(file === '-' ? 0 : file, 'utf8');
const doc = JSON.parse(text);
const validator = new Validator();
const res = await validator.validate(doc);
if (!res.valid) {
  console.log(JSON.stringify(res.errors, null, 2));
  process.exit(1);
}
if (validator.version !== '3.1') {
  console.log('expected OpenAPI 3.1, got ' + validator.version);
  process.exit(1);
}
try {
  validator.resolveRefs();
} catch (e) {
  console.log('a $ref does not resolve: ' + e.message);
  process.exit(1);
}
console.log('valid');

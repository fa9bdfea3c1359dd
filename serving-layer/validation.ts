import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS: under Node's ESM its default import is module.exports, the plugin itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const COMMON: Options = { useDefaults: true, removeAdditional: false, allErrors: false, strict: false };

/**
 * Request validation as the OpenAPI document states it. The query string, the path and the headers
 * arrive as text, so their values are coerced to the schema's types (`?from=10` is a number); a JSON
 * body arrives typed and is taken as it is: `{"fast": null}` is not a boolean, and no value is
 * silently turned into another (fastify's default coerces in the body too).
 */
export function requestValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const textual = addFormats(new Ajv({ ...COMMON, coerceTypes: 'array' }));
  const typed = addFormats(new Ajv({ ...COMMON, coerceTypes: false }));
  return ({ schema, httpPart }) => (httpPart === 'body' ? typed : textual).compile(schema as object);
}

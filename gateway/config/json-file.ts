/**
 * Reading a JSON configuration file with faults that name the file and the place: unreadable
 * (`(file)`), not JSON (`line L column C`), or not the schema's shape (the JSON pointer of the
 * first bad field). Values are never quoted back: these files hold passwords.
 */
import { readFileSync } from 'node:fs';
import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { ConfigError } from '../config-error.js';

/** `what` names the file in messages ("the ONVIF credentials file named by …"). */
export function readJsonFile<T extends TSchema>(file: string, schema: T, what: string): Static<T> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(file, '(file)', `cannot read ${what} (${e.code ?? e.message})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // editors on Windows add a BOM
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, jsonErrorPlace(text, err as Error), `${what} is not valid JSON: ${(err as Error).message}`);
  }
  const checker = TypeCompiler.Compile(schema);
  if (!checker.Check(data)) {
    const e = checker.Errors(data).First()!;
    throw new ConfigError(file, e.path || '(root)', describe(e));
  }
  return data;
}

/** TypeBox's error in words, without the value (it may be a password). */
function describe(e: ValueError): string {
  const key = e.path.slice(e.path.lastIndexOf('/') + 1).replace(/~1/g, '/').replace(/~0/g, '~');
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return `unknown field "${key}"`;
    case ValueErrorType.ObjectRequiredProperty:
      return `required field "${key}" is missing`;
    case ValueErrorType.ObjectMinProperties:
      return e.schema.description ? `is empty: ${e.schema.description}` : 'is empty';
    case ValueErrorType.Object:
      return `must be an object${e.schema.description ? `: ${e.schema.description}` : ''}`;
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.StringMinLength:
      return 'must not be empty';
    case ValueErrorType.StringMaxLength:
      return `must be at most ${e.schema.maxLength} characters`;
    default:
      return e.message.toLowerCase();
  }
}

/** `line L column C` from V8's "at position N" (or the end of input), else `(file)`. */
export function jsonErrorPlace(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  const pos = m ? Number(m[1]) : /end of JSON input/.test(err.message) ? text.length : -1;
  if (pos < 0) return '(file)';
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `line ${line} column ${column}`;
}

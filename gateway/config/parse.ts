/**
 * Environment text → values checked against `ConfigSchema`. The only code that reads the
 * variables: convert each one by its declared kind, fill the schema's defaults, validate with the
 * compiled schema, and turn the first fault into a ConfigError naming the variable, the place
 * (`value`, `scheme`, `item 2`) and the fault. Secret values never appear in a message.
 */
import { Value } from '@sinclair/typebox/value';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { ConfigError } from '../config-error.js';
import { ConfigSchema, REFUSED, declaration, type ConfigValues, type ConfigVariable } from './variables.js';

export type Env = Record<string, string | undefined>;

const checker = TypeCompiler.Compile(ConfigSchema);
const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

export interface ParsedEnv {
  values: ConfigValues;
  /** The variables the environment set (the rest took their defaults). */
  set: ReadonlySet<ConfigVariable>;
}

export function parseEnv(env: Env): ParsedEnv {
  for (const [name, why] of Object.entries(REFUSED)) if (env[name] !== undefined && env[name] !== '') throw new ConfigError(name, 'value', why);

  const raw: Record<string, unknown> = {};
  const set = new Set<ConfigVariable>();
  for (const name of Object.keys(ConfigSchema.properties) as ConfigVariable[]) {
    const value = convert(name, env[name]);
    if (value === undefined) continue;
    raw[name] = value;
    set.add(name);
  }
  const values = Value.Default(ConfigSchema, raw) as ConfigValues;
  if (!checker.Check(values)) throw describe(checker.Errors(values).First()!, values);

  for (const name of Object.keys(ConfigSchema.properties) as ConfigVariable[]) {
    const need = declaration(name)!.requiredWith;
    if (need && values[need.name as ConfigVariable] !== undefined && values[name] === undefined)
      throw new ConfigError(name, 'value', `must be set when ${need.name} is (${need.why})`);
  }
  return { values, set };
}

/** Text to the declared kind's value; undefined when unset. Faults of form (not of range) stop here. */
function convert(name: string, text: string | undefined): unknown {
  const d = declaration(name)!;
  if (text === undefined || text === '') return undefined;
  const t = text.trim();
  switch (d.envKind) {
    case 'int':
      if (!/^-?\d+$/.test(t)) throw new ConfigError(name, 'value', `${shown(name, text)} is not a whole number`);
      return Number(t);
    case 'bool':
      if (TRUE.includes(t.toLowerCase())) return true;
      if (FALSE.includes(t.toLowerCase())) return false;
      throw new ConfigError(name, 'value', `${shown(name, text)} is not true or false (nor 1/0, yes/no, on/off)`);
    case 'enum':
      return t.toLowerCase();
    case 'hostports':
      return t === '' ? undefined : t.split(',').map((item) => item.trim());
    default:
      return text;
  }
}

/** TypeBox's first error, said the way an operator can act on it. */
function describe(e: ValueError, values: ConfigValues): ConfigError {
  const [, name = '(root)', item] = e.path.split('/');
  const d = declaration(name);
  const where = item === undefined ? 'value' : `item ${Number(item) + 1}`;
  if (!d) return new ConfigError(name, where, e.message);
  const v = shown(name, e.value);
  switch (e.type) {
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
      return new ConfigError(name, where, `${e.value} is outside ${d.minimum}..${d.maximum}`);
    case ValueErrorType.StringMinLength:
      return new ConfigError(name, where, `must be at least ${e.schema.minLength} characters`);
    case ValueErrorType.StringMaxLength:
      return new ConfigError(name, where, `must be at most ${e.schema.maxLength} characters`);
    case ValueErrorType.ArrayMaxItems:
      return new ConfigError(name, 'value', `lists more than ${d.maxItems} items`);
    case ValueErrorType.Union:
      return new ConfigError(name, where, `${v} must be one of ${(d.anyOf as { const: string }[]).map((s) => s.const).join(', ')}${d.enumHint ? ` (${d.enumHint})` : ''}`);
    case ValueErrorType.StringPattern:
    case ValueErrorType.StringFormat:
      if (d.envKind === 'url') return urlError(name, String(values[name as ConfigVariable]));
      if (d.envKind === 'hostports') return new ConfigError(name, where, `${v} is not host:port (port 0..65535)`);
      return new ConfigError(name, where, `${v} ${d.patternMessage ?? `does not match ${d.pattern}`}`);
    default:
      return new ConfigError(name, where, `${v} ${e.message.toLowerCase()}`);
  }
}

function urlError(name: string, text: string): ConfigError {
  const d = declaration(name)!;
  if (!URL.canParse(text)) return new ConfigError(name, 'value', `${shown(name, text)} is not a URL (expected ${d.urlExample})`);
  return new ConfigError(name, 'scheme', `"${new URL(text).protocol}" is not supported (${d.schemeHint})`);
}

/** A value quoted for a message: never a secret, never a URL's userinfo, never a screenful. */
function shown(name: string, value: unknown): string {
  if (declaration(name)?.secret) return '(the value, not shown)';
  let s = Array.isArray(value) ? value.join(',') : String(value);
  if (declaration(name)?.envKind === 'url' && s.includes('@')) s = s.replace(/\/\/[^/]*@/, '//***@');
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

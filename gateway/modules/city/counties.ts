/**
 * The city's counties (decision 0010): configured, not forwarded — `CITY_COUNTIES_FILE` names
 * each county and its registry file, and the city's school list is the union of those registries.
 * A county cannot claim another county's schools, and a school id in two counties is refused.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../config-error.js';
import { loadRegistry } from '../../registry.js';

export interface CitySchool {
  id: string;
  name: string;
}

export interface CityCounty {
  id: string;
  name: string;
  schools: CitySchool[];
}

export const COUNTY_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function loadCounties(file: string): CityCounty[] {
  const fail = (problem: string): never => {
    throw new ConfigError(file, '(file)', `CITY_COUNTIES_FILE: ${problem}`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    fail(e.code ? `cannot be read (${e.code})` : `is not JSON (${e.message})`);
  }
  const list = (doc as { counties?: unknown })?.counties;
  if (!Array.isArray(list) || list.length === 0) fail('must be {"counties": [{"id", "name", "registry"}, …]} with at least one county');
  const counties: CityCounty[] = [];
  const schoolOwner = new Map<string, string>();
  for (const [i, c] of (list as { id?: unknown; name?: unknown; registry?: unknown }[]).entries()) {
    if (typeof c?.id !== 'string' || !COUNTY_ID.test(c.id)) fail(`counties[${i}].id must be lower-case letters, digits, "-" or "_" (one topic level)`);
    const id = c.id as string;
    if (counties.some((k) => k.id === id)) fail(`county "${id}" is listed twice`);
    if (typeof c.name !== 'string' || c.name.trim() === '') fail(`counties[${i}] ("${id}") needs a name`);
    if (typeof c.registry !== 'string' || c.registry === '') fail(`counties[${i}] ("${id}") needs the path of its registry file`);
    let schools: CitySchool[] = [];
    try {
      schools = loadRegistry(path.resolve(path.dirname(file), c.registry as string)).registry.schools.map((s) => ({ id: s.id, name: s.name }));
    } catch (err) {
      fail(`the registry of county "${id}" cannot be loaded: ${(err as Error).message}`);
    }
    for (const s of schools) {
      const other = schoolOwner.get(s.id);
      if (other !== undefined) fail(`school "${s.id}" is in the registries of both "${other}" and "${id}"`);
      schoolOwner.set(s.id, id);
    }
    counties.push({ id, name: c.name as string, schools });
  }
  return counties;
}

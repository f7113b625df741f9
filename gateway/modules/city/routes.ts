/** The city API (decision 0010): each county's six rates, open alarms and canteen figures, and a county's schools. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AUTH_ERRORS, BEARER, INTERNAL, described, errorReply } from '../../contract/api.js';
import { CityCountiesReply, CityCountyParams, CitySchoolsReply } from '../../contract/city.js';
import { requireRole } from '../../auth/guard.js';
import { HttpError } from '../../errors.js';
import type { FastifyRequest } from 'fastify';
import type { CityModule } from './index.js';

/** Open alarms listed per county in the summary (newest last). */
const ALARMS_LISTED = 50;

const NOT_CITY = errorReply('this gateway is not a city gateway (`not_a_city`: no `CITY_COUNTIES_FILE`), or the county is not one of its counties (`unknown_county`)');
const SCHOOL_USER = 'a school-bound user sees its own school at its county gateway, not the city';

/** A school-bound user is refused; a county-bound one sees its county only (decision 0010). */
function cityUser(req: FastifyRequest): void {
  if (req.principal?.school !== undefined) throw new HttpError(403, 'other_school', SCHOOL_USER);
}

/** The county's drill-down: 403 `other_county` for a user bound to another county. */
function ensureCounty(req: FastifyRequest, county: string): void {
  const mine = req.principal?.county;
  if (mine !== undefined && mine !== county) throw new HttpError(403, 'other_county', `you are a user of county ${mine}: you cannot see county ${county}`);
}

export const cityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const city = app.gw.module<CityModule>('city');
  const viewer = requireRole(app, 'viewer');
  const ensureCity = () => {
    if (city.counties.length === 0) throw new HttpError(404, 'not_a_city', 'this gateway has no counties (CITY_COUNTIES_FILE is not set)');
  };

  app.get(
    '/api/city/counties',
    {
      onRequest: viewer,
      schema: {
        tags: ['city'],
        summary: "Each county's six target rates, open alarms and canteen figures (viewer+, not school-bound; a county-bound user gets its own county only)",
        security: BEARER,
        response: { 200: described(CityCountiesReply, 'every configured county'), 404: NOT_CITY, ...AUTH_ERRORS, ...INTERNAL },
      },
    },
    async (req) => {
      cityUser(req);
      ensureCity();
      const mine = req.principal?.county;
      return {
        counties: city.counties.filter((c) => mine === undefined || c.id === mine).map((c) => {
          const s = city.state(c.id)!;
          const open = s.openAlarms();
          return {
            id: c.id,
            name: c.name,
            schools: c.schools.length,
            frames: city.framesFrom(c.id),
            lastSeq: s.lastSeq,
            lastAt: s.lastAt === null ? null : new Date(s.lastAt).toISOString(),
            rates: s.rates(),
            // The newest few: a screen lists them; the drill-down counts the rest per school.
            alarms: { open: open.length, list: open.slice(-ALARMS_LISTED) },
            canteen: s.canteen(),
          };
        }),
      };
    },
  );

  app.get(
    '/api/city/counties/:county/schools',
    {
      onRequest: viewer,
      schema: {
        tags: ['city'],
        summary: "A county's schools with their open alarms, target rates and canteen figures: the drill-down (viewer+, not school-bound)",
        security: BEARER,
        params: CityCountyParams,
        response: { 200: described(CitySchoolsReply, "the county's schools"), 404: NOT_CITY, ...AUTH_ERRORS, ...INTERNAL },
      },
    },
    async (req) => {
      cityUser(req);
      ensureCity();
      const { county } = req.params;
      ensureCounty(req, county);
      const c = city.counties.find((k) => k.id === county);
      if (!c) throw new HttpError(404, 'unknown_county', `county "${county}" is not one of this city's counties`);
      const s = city.state(c.id)!;
      return {
        county: c.id,
        schools: c.schools.map((school) => ({ id: school.id, name: school.name, openAlarms: s.openAlarms(school.id).length, rates: s.rates(school.id), canteen: s.canteen(school.id) })),
      };
    },
  );
};

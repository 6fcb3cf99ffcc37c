import type { Request, Response } from 'express';
import { z } from 'zod';
import { pageUrlFor } from '../platform/http/params';
import { validate } from '../platform/http/validate';
import type { LocationService } from '../locations/location.service';
import type { UserManagementService } from './user-management.service';

const PER_PAGE = 50;

const listQuerySchema = z.object({
  location: z
    .string()
    .trim()
    .max(32)
    .optional()
    .transform((v) => v || undefined),
  status: z
    .enum(['active', 'inactive', ''])
    .optional()
    .transform((v) => v || undefined),
  q: z
    .string()
    .trim()
    .max(200)
    .optional()
    .transform((v) => v || undefined),
  // A page number out of range (an edited link, a list that shrank) shows the first page rather than an error.
  page: z.coerce.number().int().min(1).max(100_000).catch(1).default(1),
});

const readListQuery = validate.query(listQuerySchema);

export function createUsersController(deps: { userManagement: UserManagementService; locations: LocationService }) {
  return {
    async index(req: Request, res: Response) {
      const filter = readListQuery(req);
      const [result, locations, syncable] = await Promise.all([
        deps.userManagement.list({ locationCode: filter.location, status: filter.status, q: filter.q, page: filter.page, perPage: PER_PAGE }),
        deps.locations.list(),
        deps.locations.listSyncable(),
      ]);
      res.render('admin/users/index', {
        title: req.t('users.title'),
        filter,
        result,
        locations,
        syncableLocations: syncable,
        pageUrl: pageUrlFor('/admin/users', { location: filter.location, status: filter.status, q: filter.q }),
      });
    },
  };
}

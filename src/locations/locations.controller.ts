import type { Request, Response } from 'express';
import type { AuthService } from '../auth/auth.service';
import { ValidationError } from '../platform/errors';
import type { ExternalApiService } from '../remote/external-api.service';
import { SharedOnlineUrlError, type LocationService } from './location.service';
import type { Location } from './locations.queries';
import { RemoteApiError } from '../remote/remote-api-errors';
import { describeRemoteFailure } from '../remote/remote-failures';
import { flash } from '../platform/http/flash';
import { readId } from '../platform/http/params';
import { translateServiceMessage } from '../platform/i18n/i18n';

/** Only the fields a location form may set: anything else in the body is ignored. */
const locationForm = (body: unknown) => {
  const b = (body ?? {}) as Record<string, unknown>;
  return {
    code: b.code ?? '',
    name: b.name ?? '',
    online_url: b.online_url ?? '',
    drift_cron: b.drift_cron ?? '',
    same_url_ok: typeof b.same_url_ok === 'string' ? b.same_url_ok : '',
  };
};

/** The location form's fields as shown again. */
type FormValues = { code: string; name: string; online_url: string; drift_cron: string; same_url_ok?: string };

/** The other locations a refused URL is shared with, for the form's "I know … already uses this URL" box. */
const sharedWithOf = (error: ValidationError) => (error instanceof SharedOnlineUrlError ? error.sharedWith : []);

/** The sync runs shown per location: the feature that owns them reports them. */
export interface LocationSyncSummaries {
  lastRunsByLocation(): Promise<Map<number, unknown>>;
}

export function createLocationsController(deps: {
  locations: LocationService;
  externalApi: Pick<ExternalApiService, 'testConnection'>;
  auth: Pick<AuthService, 'authenticate'>;
  syncSummaries: LocationSyncSummaries;
}) {
  const translateFields = (req: Request, fields: Record<string, string>) =>
    Object.fromEntries(Object.entries(fields).map(([field, message]) => [field, translateServiceMessage(req.t, message)]));

  /** Audit: a location saved on a URL other ones use, which the admin accepted with the form's box. */
  async function logSharedUrl(req: Request, location: Location, accepted: string) {
    if (!accepted || !location.onlineUrl) return;
    const sharedWith = await deps.locations.sharingUrlWith(location);
    if (sharedWith.length === 0) return;
    req.log.warn(
      { locationId: location.id, code: location.code, userId: req.currentUser?.id, url: location.onlineUrl, sharedWith },
      'location online URL shared with another location',
    );
  }

  async function renderIndex(
    req: Request,
    res: Response,
    status = 200,
    form: FormValues = { code: '', name: '', online_url: '', drift_cron: '' },
    errors: Record<string, string> = {},
    sharedWith: string[] = [],
  ) {
    res.status(status).render('admin/locations/index', {
      title: req.t('locations.title'),
      locations: await deps.locations.list(),
      lastRuns: await deps.syncSummaries.lastRunsByLocation(),
      isOwnLocation: (id: number) => deps.locations.isOwnLocation(id),
      form,
      errors,
      sharedWith,
    });
  }

  /** The Locations page again with the refusal on top (the flash is read by this very page), and its status. */
  async function refuse(req: Request, res: Response, status: number, message: string) {
    flash(req, 'error', message);
    await renderIndex(req, res, status);
  }

  const renderEdit = (
    req: Request,
    res: Response,
    location: Location,
    form: FormValues,
    errors: Record<string, string> = {},
    status = 200,
    sharedWith: string[] = [],
  ) =>
    res.status(status).render('admin/locations/edit', {
      title: req.t('locations.editTitle', { code: location.code }),
      location,
      codeReadOnly: deps.locations.isOwnLocation(location.id),
      form,
      errors,
      sharedWith,
    });

  return {
    index: (req: Request, res: Response) => renderIndex(req, res),

    async create(req: Request, res: Response) {
      const form = locationForm(req.body);
      try {
        const location = await deps.locations.create(form);
        req.log.info({ locationId: location.id, code: location.code, userId: req.currentUser?.id, url: location.onlineUrl }, 'location created');
        await logSharedUrl(req, location, form.same_url_ok);
        if (location.confirmationNeeded) flash(req, 'warning', req.t('locations.createdConfirmUrl', { code: location.code }));
        else flash(req, 'success', req.t('locations.created', { code: location.code }));
        res.redirect(303, '/admin/locations');
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        req.log.info({ fields: error.fields }, 'location form refused');
        await renderIndex(req, res, 422, form as FormValues, translateFields(req, error.fields), sharedWithOf(error));
      }
    },

    async edit(req: Request, res: Response) {
      const id = readId(req);
      const location = await deps.locations.get(id);
      renderEdit(req, res, location, {
        code: location.code,
        name: location.name,
        online_url: location.onlineUrl ?? '',
        drift_cron: location.driftCron ?? '',
      });
    },

    async update(req: Request, res: Response) {
      const id = readId(req);
      const form = locationForm(req.body);
      try {
        const { location, previousUrl, urlChanged, previousCode, codeChanged } = await deps.locations.update(id, form);
        req.log.info({ locationId: id, code: location.code, userId: req.currentUser?.id }, 'location updated');
        if (urlChanged) await logSharedUrl(req, location, form.same_url_ok);
        if (urlChanged) {
          req.log.warn(
            { locationId: id, code: location.code, userId: req.currentUser?.id, from: previousUrl, to: location.onlineUrl },
            'location online URL changed',
          );
        }
        if (codeChanged) {
          req.log.warn({ locationId: id, userId: req.currentUser?.id, from: previousCode, to: location.code }, 'location code changed');
        }
        const mustConfirm = location.confirmationNeeded !== null;
        flash(
          req,
          mustConfirm ? 'warning' : 'success',
          req.t(mustConfirm ? 'locations.savedConfirmUrl' : 'locations.saved', { code: location.code }),
        );
        res.redirect(303, '/admin/locations');
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        req.log.info({ locationId: id, fields: error.fields }, 'location form refused');
        renderEdit(req, res, await deps.locations.get(id), form as FormValues, translateFields(req, error.fields), 422, sharedWithOf(error));
      }
    },

    /** Logs in to the location's API and reads its first page, reporting the outcome as a flash. */
    async testConnection(req: Request, res: Response) {
      const id = readId(req);
      const location = await deps.locations.get(id);
      try {
        const result = await deps.externalApi.testConnection(location);
        const count = result.total ?? result.firstPageCount;
        const users = req.t('locations.userCount', { count, formattedCount: res.locals.fmt.number(count) });
        flash(req, 'success', req.t(result.total === null ? 'locations.testOkAtLeast' : 'locations.testOk', { code: location.code, users }));
      } catch (error) {
        if (!(error instanceof RemoteApiError)) throw error;
        // The failure's code names the cause precisely, said in the page's language (the log has its English).
        flash(
          req,
          'error',
          req.t('locations.testFailed', {
            code: location.code,
            kind: req.t(`remoteKinds.${error.kind}`),
            detail: describeRemoteFailure(req.t, error.failure),
          }),
        );
      }
      res.redirect(303, '/admin/locations');
    },

    /**
     * An admin confirms, with their password, that the URL they were shown may receive the credential of the
     * code they were shown. A wrong password answers 403, which the confirmation limiters count.
     */
    async confirmUrl(req: Request, res: Response) {
      const id = readId(req);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const password = typeof body.password === 'string' ? body.password : '';
      const shown = {
        onlineUrl: typeof body.online_url === 'string' ? body.online_url : '',
        code: typeof body.code === 'string' ? body.code : '',
      };
      const admin = req.currentUser!;
      if (!(await deps.auth.authenticate(admin.email, password, 'pages'))) {
        req.log.warn({ locationId: id, userId: admin.id }, 'location online URL not confirmed: wrong password');
        return refuse(req, res, 403, req.t('locations.confirmWrongPassword'));
      }
      const location = await deps.locations.confirmOnlineUrl(id, shown);
      req.log.warn({ locationId: id, code: location.code, userId: admin.id, url: location.onlineUrl }, 'location online URL confirmed');
      flash(req, 'success', req.t('locations.urlConfirmed', { code: location.code }));
      res.redirect(303, '/admin/locations');
    },

    /** The refusal of a throttled confirmation (the limiters answer before the password is checked). */
    confirmThrottled: (req: Request, res: Response, minutes: number) =>
      refuse(req, res, 429, req.t('locations.confirmThrottled', { count: minutes })),

    async setActive(req: Request, res: Response) {
      const id = readId(req);
      const isActive = req.path.endsWith('/activate');
      let location: Location;
      try {
        location = await deps.locations.setActive(id, isActive);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        req.log.info({ locationId: id, isActive }, 'location status change refused');
        return refuse(req, res, 422, translateServiceMessage(req.t, error.message));
      }
      req.log.info({ locationId: id, isActive }, 'location status changed');
      flash(req, isActive ? 'success' : 'info', req.t(isActive ? 'locations.activated' : 'locations.deactivated', { code: location.code }));
      res.redirect(303, '/admin/locations');
    },
  };
}

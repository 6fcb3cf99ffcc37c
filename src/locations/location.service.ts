import cronParser from 'cron-parser';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors';
import type { Location, LocationsRepository } from './locations.queries';

export const locationInputSchema = z.object({
  code: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'Use 1 to 32 letters, digits, _ or -.')
    .transform((v) => v.toUpperCase()),
  name: z.string().trim().min(1, 'Give the location a name.').max(200, 'At most 200 characters.'),
  online_url: z
    .string()
    .trim()
    .max(2048, 'At most 2048 characters.')
    .transform((v) => (v === '' ? null : v))
    .refine((v) => v === null || isAbsoluteHttpUrl(v), 'Enter an absolute http:// or https:// URL, e.g. https://dev.example.com.'),
  drift_cron: z
    .string()
    .trim()
    .max(100, 'At most 100 characters.')
    .optional()
    .transform((v) => (v ? v.replace(/\s+/g, ' ') : null))
    .refine(
      (v) => v === null || isCronExpression(v),
      'Enter a cron expression of 5 fields (UTC), e.g. 0 */6 * * * for every 6 hours, or leave it empty.',
    ),
  // The codes of the other locations the admin was told share the URL ("DEV,TEST"): the box they ticked.
  same_url_ok: z.string().trim().max(2000).optional().catch(undefined),
});

/** Five fields, as the job engine's schedules read them (minute resolution, UTC), parsed by the same parser. */
function isCronExpression(value: string): boolean {
  if (value.split(' ').length !== 5) return false;
  try {
    cronParser.parseExpression(value, { tz: 'UTC' });
    return true;
  } catch {
    return false;
  }
}

/** The last time the schedule asked for a check, at or before `now`. */
const lastScheduledTime = (cron: string, now: Date) => cronParser.parseExpression(cron, { tz: 'UTC', currentDate: now }).prev().toDate();

export type LocationFormInput = z.input<typeof locationInputSchema>;

function isAbsoluteHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && !url.username && !url.password;
  } catch {
    return false;
  }
}

/**
 * What makes two online URLs one server: scheme, host and port as URL normalises them (case, default
 * port), and the path without trailing slashes.
 */
function serverOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}${parsed.search}`;
  } catch {
    return url;
  }
}

/**
 * Another location already uses the online URL: the sync would read the same server's users into two
 * locations (the "wrong server" mistake), so saving takes the admin's explicit yes for those codes.
 */
export class SharedOnlineUrlError extends ValidationError {
  constructor(readonly sharedWith: string[]) {
    super('Check the highlighted fields.', { online_url: `${sharedWith.join(', ')} already uses this URL.` });
  }
}

/** Checks an online URL beyond its syntax (SSRF rules); throws a ValidationError when refused. */
export type OnlineUrlPolicy = (url: string) => Promise<void>;

/** Told when a location was edited or (de)activated: its open sync previews read another source. */
export type LocationChangedHook = (locationId: number, change: LocationChange, code: string) => Promise<unknown>;

/** What happened to a location that its open sync previews must hear of. */
export type LocationChange = 'edited' | 'activated' | 'deactivated';

export class LocationService {
  constructor(
    private readonly deps: {
      locations: LocationsRepository;
      checkOnlineUrl?: OnlineUrlPolicy;
      onChanged?: LocationChangedHook;
      /** This instance's own location (APP_LOCATION_CODE): its admins sign in through it, found by its code. */
      ownLocationId?: number;
    },
  ) {}

  /** The own location keeps its code and stays active: a renamed one is not found at the next start. */
  isOwnLocation(id: number): boolean {
    return id === this.deps.ownLocationId;
  }

  list(): Promise<Location[]> {
    return this.deps.locations.list();
  }

  listSyncable(): Promise<Location[]> {
    return this.deps.locations.listSyncable();
  }

  async getByCode(code: string): Promise<Location> {
    const location = await this.deps.locations.findByCode(code);
    if (!location) throw new NotFoundError(`No location with the code ${code}.`);
    return location;
  }

  async get(id: number): Promise<Location> {
    const location = await this.deps.locations.findById(id);
    if (!location) throw new NotFoundError('Location not found.');
    return location;
  }

  /** A location with a URL starts unconfirmed: no credential goes there before an admin confirms it. */
  async create(form: unknown): Promise<Location> {
    const input = await this.validate(form);
    if (await this.deps.locations.findByCode(input.code)) {
      throw new ValidationError('Check the highlighted fields.', { code: `A location with code ${input.code} exists.` });
    }
    await this.checkSharedUrl(input);
    return this.deps.locations.create(input);
  }

  /**
   * Saves the form. A changed online URL or code must be confirmed again (confirmOnlineUrl) before a
   * credential is sent there (the location reads as unconfirmed until then); `previousUrl` and
   * `previousCode` say what they were, for the log. Every edit supersedes the location's open previews.
   */
  async update(
    id: number,
    form: unknown,
  ): Promise<{ location: Location; previousUrl: string | null; urlChanged: boolean; previousCode: string; codeChanged: boolean }> {
    const current = await this.get(id);
    const input = await this.validate(form);
    const codeChanged = input.code.toUpperCase() !== current.code.toUpperCase();
    if (codeChanged && this.isOwnLocation(id)) {
      throw new ValidationError('Check the highlighted fields.', {
        code: `This instance's own location keeps its code ${current.code} (APP_LOCATION_CODE).`,
      });
    }
    const sameCode = await this.deps.locations.findByCode(input.code);
    if (sameCode && sameCode.id !== id) {
      throw new ValidationError('Check the highlighted fields.', { code: `A location with code ${input.code} exists.` });
    }
    // A URL kept as it was asks nothing again: the sharing was accepted when it was set.
    if (!current.onlineUrl || !input.onlineUrl || serverOf(current.onlineUrl) !== serverOf(input.onlineUrl)) {
      await this.checkSharedUrl(input, id);
    }
    const updated = await this.deps.locations.update(id, input);
    if (!updated) throw new ConflictError('The location changed while saving; try again.');
    await this.deps.onChanged?.(id, 'edited', updated.code);
    return {
      location: updated,
      previousUrl: current.onlineUrl,
      urlChanged: input.onlineUrl !== current.onlineUrl,
      previousCode: current.code,
      codeChanged,
    };
  }

  /**
   * Confirms that the URL the admin was shown may receive the credential of the code they were shown; a
   * URL or code changed since is not confirmed by it.
   */
  async confirmOnlineUrl(id: number, shown: { onlineUrl: string; code: string }): Promise<Location> {
    const confirmed = await this.deps.locations.confirmOnlineUrl(id, shown);
    if (!confirmed) throw new ConflictError('The online URL or code changed meanwhile: check them and confirm again.');
    return confirmed;
  }

  /**
   * The locations whose drift check is due (their schedule passed a time since their last check), each
   * taken for this caller only, so that instances ticking together start one check.
   */
  async claimDueDriftChecks(now = new Date()): Promise<number[]> {
    const due: number[] = [];
    for (const schedule of await this.deps.locations.listDriftSchedules()) {
      const last = lastScheduledTime(schedule.driftCron, now);
      if (schedule.checkedAt && last <= schedule.checkedAt) continue;
      if (await this.deps.locations.claimDriftCheck(schedule.id, last)) due.push(schedule.id);
    }
    return due;
  }

  async setActive(id: number, isActive: boolean): Promise<Location> {
    if (!isActive && this.isOwnLocation(id)) {
      throw new ValidationError("This instance's own location cannot be deactivated: its admins sign in through it.");
    }
    const updated = await this.deps.locations.setActive(id, isActive);
    if (!updated) throw new NotFoundError('Location not found.');
    await this.deps.onChanged?.(id, isActive ? 'activated' : 'deactivated', updated.code);
    return updated;
  }

  /** The codes of the other locations on the same server as this online URL, in code order. */
  async sharingUrlWith(location: { id?: number; onlineUrl: string | null }): Promise<string[]> {
    if (!location.onlineUrl) return [];
    const server = serverOf(location.onlineUrl);
    return (await this.deps.locations.list())
      .filter((other) => other.id !== location.id && other.onlineUrl !== null && serverOf(other.onlineUrl) === server)
      .map((other) => other.code);
  }

  /**
   * Refuses an online URL another location uses unless the form accepts exactly those locations (the
   * checkbox the refusal showed names them): a yes given for DEV is not one for TEST.
   */
  private async checkSharedUrl(input: { onlineUrl: string | null; sameUrlOk: string[] }, exceptId?: number): Promise<void> {
    const sharedWith = await this.sharingUrlWith({ id: exceptId, onlineUrl: input.onlineUrl });
    if (sharedWith.length === 0) return;
    if (sharedWith.join(',') === input.sameUrlOk.join(',')) return;
    throw new SharedOnlineUrlError(sharedWith);
  }

  private async validate(form: unknown) {
    const parsed = locationInputSchema.safeParse(form);
    if (!parsed.success) {
      const fields: Record<string, string> = {};
      for (const issue of parsed.error.issues) {
        const key = String(issue.path[0] ?? 'form');
        fields[key] ??= issue.message;
      }
      throw new ValidationError('Check the highlighted fields.', fields);
    }
    const { code, name, online_url: onlineUrl, drift_cron: driftCron, same_url_ok: sameUrlOk } = parsed.data;
    if (onlineUrl && this.deps.checkOnlineUrl) {
      try {
        await this.deps.checkOnlineUrl(onlineUrl);
      } catch (error) {
        const message = error instanceof Error ? error.message : 'This URL is not allowed.';
        throw new ValidationError('Check the highlighted fields.', { online_url: message });
      }
    }
    return { code, name, onlineUrl, driftCron, sameUrlOk: sameUrlOk ? sameUrlOk.split(',').filter(Boolean) : [] };
  }
}

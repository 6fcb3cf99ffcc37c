import type { Knex } from 'knex';

export interface Location {
  id: number;
  code: string;
  name: string;
  onlineUrl: string | null;
  /**
   * Whether an admin confirmed, with their password, that this online URL may receive this code's credential
   * (the credential is chosen by code). No credential goes to the URL before.
   */
  onlineUrlConfirmed: boolean;
  /** Why the URL is not confirmed (what differs from the pairing confirmed last); null when confirmed or without a URL. */
  confirmationNeeded: ConfirmationNeeded | null;
  isActive: boolean;
  /** Cron expression of the scheduled drift check; null: none. */
  driftCron: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** `new`: never confirmed; otherwise what changed since the last confirmation. */
export type ConfirmationNeeded = 'new' | 'url' | 'code' | 'urlAndCode';

export interface LocationInput {
  code: string;
  name: string;
  onlineUrl: string | null;
  driftCron?: string | null;
}

interface LocationRow {
  id: number;
  code: string;
  name: string;
  online_url: string | null;
  confirmed_online_url: string | null;
  confirmed_code: string | null;
  is_active: boolean;
  drift_cron: string | null;
  drift_checked_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

function confirmationNeeded(row: LocationRow): ConfirmationNeeded | null {
  if (row.online_url === null) return null;
  if (row.confirmed_online_url === null || row.confirmed_code === null) return 'new';
  const urlChanged = row.confirmed_online_url !== row.online_url;
  const codeChanged = row.confirmed_code.toUpperCase() !== row.code.toUpperCase();
  if (urlChanged && codeChanged) return 'urlAndCode';
  return urlChanged ? 'url' : codeChanged ? 'code' : null;
}

const toLocation = (row: LocationRow): Location => ({
  id: row.id,
  code: row.code,
  name: row.name,
  onlineUrl: row.online_url,
  onlineUrlConfirmed: row.online_url !== null && confirmationNeeded(row) === null,
  confirmationNeeded: confirmationNeeded(row),
  isActive: row.is_active,
  driftCron: row.drift_cron,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export function createLocationsRepository(db: Knex) {
  return {
    async list(): Promise<Location[]> {
      return (await db<LocationRow>('locations').orderBy('code')).map(toLocation);
    },

    /** Active locations that have a remote to sync from. */
    async listSyncable(): Promise<Location[]> {
      const rows = await db<LocationRow>('locations').where('is_active', true).whereNotNull('online_url').whereNot('online_url', '').orderBy('code');
      return rows.map(toLocation);
    },

    /** `lock: 'share'` holds off edits of the location until the transaction ends. */
    async findById(id: number, trx: Knex = db, options: { lock?: 'share' } = {}): Promise<Location | undefined> {
      const query = trx<LocationRow>('locations').where({ id });
      if (options.lock === 'share') query.forShare();
      const row = await query.first();
      return row && toLocation(row);
    },

    async findByCode(code: string, trx: Knex = db): Promise<Location | undefined> {
      const row = await trx<LocationRow>('locations').whereRaw('upper(code) = upper(?)', [code]).first();
      return row && toLocation(row);
    },

    async create(input: LocationInput, trx: Knex = db): Promise<Location> {
      const driftCron = input.driftCron ?? null;
      const [row] = await trx<LocationRow>('locations')
        .insert({
          code: input.code,
          name: input.name,
          online_url: input.onlineUrl,
          drift_cron: driftCron,
          drift_checked_at: driftCron ? db.fn.now() : null,
        })
        .returning('*');
      return toLocation(row as LocationRow);
    },

    /** Inserts the location unless its code exists; returns the stored one either way. */
    async ensure(input: LocationInput, trx: Knex = db): Promise<Location> {
      await trx('locations').insert({ code: input.code, name: input.name, online_url: input.onlineUrl }).onConflict('code').ignore();
      return (await this.findByCode(input.code, trx)) as Location;
    },

    /** Leaves the confirmed pairing as it was: a changed URL or code is then unconfirmed until confirmOnlineUrl. */
    async update(id: number, input: LocationInput, trx: Knex = db): Promise<Location | undefined> {
      const [row] = await trx<LocationRow>('locations')
        .where({ id })
        .update({
          code: input.code,
          name: input.name,
          online_url: input.onlineUrl,
          drift_cron: input.driftCron ?? null,
          // A new schedule counts from now: its first check is its next time, not one it already passed.
          drift_checked_at: db.raw('CASE WHEN drift_cron IS DISTINCT FROM ? THEN now() ELSE drift_checked_at END', [input.driftCron ?? null]),
          updated_at: db.fn.now(),
        })
        .returning('*');
      return row && toLocation(row as LocationRow);
    },

    /** Records that the URL may receive the code's credential, if both are still the ones the admin saw. */
    async confirmOnlineUrl(id: number, shown: { onlineUrl: string; code: string }, trx: Knex = db): Promise<Location | undefined> {
      const [row] = await trx<LocationRow>('locations')
        .where({ id, online_url: shown.onlineUrl })
        .whereRaw('upper(code) = upper(?)', [shown.code])
        .update({ confirmed_online_url: db.ref('online_url'), confirmed_code: db.ref('code'), updated_at: db.fn.now() })
        .returning('*');
      return row && toLocation(row as LocationRow);
    },

    /** The drift schedules of the locations that can be synced, with when each last started a check. */
    async listDriftSchedules(): Promise<Array<{ id: number; driftCron: string; checkedAt: Date | null }>> {
      const rows: Array<{ id: number; drift_cron: string; drift_checked_at: Date | null }> = await db('locations')
        .whereNotNull('drift_cron')
        .where('is_active', true)
        .whereNotNull('online_url')
        .select('id', 'drift_cron', 'drift_checked_at');
      return rows.map((row) => ({ id: row.id, driftCron: row.drift_cron, checkedAt: row.drift_checked_at }));
    },

    /** Takes the check the schedule asked for at `scheduledAt`: false when it was taken already (by another instance). */
    async claimDriftCheck(id: number, scheduledAt: Date): Promise<boolean> {
      const taken = await db('locations')
        .where({ id })
        .andWhere((q) => q.whereNull('drift_checked_at').orWhere('drift_checked_at', '<', scheduledAt))
        .update({ drift_checked_at: db.fn.now() });
      return taken === 1;
    },

    async setActive(id: number, isActive: boolean, trx: Knex = db): Promise<Location | undefined> {
      const [row] = await trx<LocationRow>('locations').where({ id }).update({ is_active: isActive, updated_at: db.fn.now() }).returning('*');
      return row && toLocation(row as LocationRow);
    },
  };
}

export type LocationsRepository = ReturnType<typeof createLocationsRepository>;

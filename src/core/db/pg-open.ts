import { CantCreateError, RemoteError, XcimgError } from "../errors";
import { PgDriver, PgError, redactUrl } from "./pg-driver";
import { preparePgSchema } from "./pg-schema";

/** Connect to `[db] url` and make sure the schema is one xcimg can work on (pg-schema.ts). */
export function openPostgres(url: string): PgDriver {
  const where = redactUrl(url);
  let d: PgDriver;
  try {
    d = new PgDriver(url);
  } catch (e) {
    const msg = (e as Error).message;
    throw new RemoteError(`cannot connect to PostgreSQL at ${where}: ${msg}`, {
      hint: "check [db] url (or XCIMG_DB_URL), that the server runs and that pg_hba.conf lets this host and user in",
    });
  }
  try {
    preparePgSchema(d, where);
    d.ready = true;
  } catch (e) {
    d.close();
    if (e instanceof XcimgError) throw e;
    if (e instanceof PgError && e.code === "42501") {
      throw new CantCreateError(`cannot prepare database ${where}: ${e.message}`, {
        hint: "the database user needs CREATE on its schema the first time xcimg runs",
      });
    }
    throw new CantCreateError(`cannot prepare database ${where}: ${(e as Error).message}`);
  }
  return d;
}
